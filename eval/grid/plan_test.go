package grid

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// fakeModel writes the three files a model fingerprint reads.
func fakeModel(t *testing.T, dir, config string) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644)
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(`{"model": {}}`), 0o644)
	header := []byte(`{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}`)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	os.WriteFile(filepath.Join(dir, "model.safetensors"), append(append(n[:], header...), 0, 0, 0, 0), 0o644)
}

func planIDs(t *testing.T, spec string, specDir string) map[string]string {
	t.Helper()
	path := filepath.Join(specDir, "spec.json")
	os.WriteFile(path, []byte(spec), 0o644)
	s, err := LoadSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(s)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, c := range p.Cells {
		ids[c.Name()] = c.ID
	}
	return ids
}

const planSpec = `{"name": "p", "models": ["m"], "methods": ["full", "starc"], "budgets": [64, 128],
  "perplexity": [{"name": "a", "file": "a.txt", "tokens": 8}, {"name": "b", "file": "b.txt", "tokens": 8}]}`

// A cell's ID is its configuration's: the same grid planned from another
// directory (model and texts copied) has the same IDs; changing a text,
// the model, a knob or the version changes the IDs it should and only
// those; every cell's ID is distinct.
func TestCellIDs(t *testing.T) {
	layout := func(dir, textB, config string) {
		fakeModel(t, filepath.Join(dir, "m"), config)
		os.WriteFile(filepath.Join(dir, "a.txt"), []byte("text a"), 0o644)
		os.WriteFile(filepath.Join(dir, "b.txt"), []byte(textB), 0o644)
	}
	one, two, three, four := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	layout(one, "text b", `{"n": 1}`)
	layout(two, "text b", `{"n": 1}`)
	layout(three, "text B", `{"n": 1}`)
	layout(four, "text b", `{"n": 2}`)
	base := planIDs(t, planSpec, one)
	if len(base) != 6 {
		t.Fatalf("%d cells, want 2 texts × (full + starc at 2 budgets)", len(base))
	}
	seen := map[string]bool{}
	for _, id := range base {
		if seen[id] || len(id) != 16 {
			t.Errorf("id %q repeated or not 16 hex digits", id)
		}
		seen[id] = true
	}
	same := planIDs(t, planSpec, two)
	for name, id := range base {
		if same[name] != id {
			t.Errorf("%s: id %s from one directory, %s from another", name, id, same[name])
		}
	}
	text := planIDs(t, planSpec, three)
	for name, id := range base {
		changed := text[name] != id
		if want := name[0] == 'b'; changed != want {
			t.Errorf("text b changed: %s id changed = %v, want %v", name, changed, want)
		}
	}
	for name, id := range planIDs(t, planSpec, four) {
		if base[name] == id {
			t.Errorf("another model: %s keeps id %s", name, id)
		}
	}
	knob := planIDs(t, `{"name": "p", "models": ["m"], "methods": ["full", "starc"], "budgets": [64, 128], "attention": {"window": 32},
  "perplexity": [{"name": "a", "file": "a.txt", "tokens": 8}, {"name": "b", "file": "b.txt", "tokens": 8}]}`, one)
	for name, id := range knob {
		changed := base[name] != id
		if want := name[2:] != "full"; changed != want { // "a/full", "a/starc-64" ...
			t.Errorf("another STARC window: %s id changed = %v, want %v (only STARC reads it)", name, changed, want)
		}
	}
	defer func(v string) { Version = v }(Version)
	Version = "v-other"
	for name, id := range planIDs(t, planSpec, one) {
		if base[name] == id {
			t.Errorf("another starc version: %s keeps id %s", name, id)
		}
	}
}
