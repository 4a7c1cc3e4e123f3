package grid

import (
	"strings"
	"testing"
)

const validSpec = `{
  "name": "t",
  "models": ["m"],
  "methods": ["full", "starc"],
  "budgets": [64],
  "perplexity": [{"file": "book.txt", "tokens": 32}]
}`

// A spec is decoded strictly: every mistake names the file, and the key,
// line or value at fault.
func TestParseSpecErrors(t *testing.T) {
	tests := []struct {
		name, spec string
		want       []string
	}{
		{"unknown top-level key", `{"name": "t", "modles": ["m"]}`, []string{"s.json", `unknown key "modles"`, "line 1"}},
		{"unknown nested key", "{\"models\": [\"m\"], \"methods\": [\"full\"],\n \"attention\": {\"windw\": 3}}", []string{`unknown key "windw"`, "line 2"}},
		{"unknown method", strings.Replace(validSpec, `"starc"]`, `"strac"]`, 1), []string{"methods[1]", `unknown method "strac"`, "known:"}},
		{"repeated method", strings.Replace(validSpec, `"full", "starc"`, `"starc", "starc"`, 1), []string{"methods[1]", "twice"}},
		{"sparse without budget", strings.Replace(validSpec, `[64]`, `[]`, 1), []string{"budgets", "sparse"}},
		{"zero budget", strings.Replace(validSpec, `[64]`, `[0]`, 1), []string{"budgets[0]", "0"}},
		{"no workload", `{"models": ["m"], "methods": ["full"]}`, []string{"no workload"}},
		{"no model", `{"methods": ["full"], "perplexity": [{"file": "x", "tokens": 1}]}`, []string{"models"}},
		{"ppl without tokens", strings.Replace(validSpec, `, "tokens": 32`, ``, 1), []string{"perplexity[0].tokens"}},
		{"ppl without file", strings.Replace(validSpec, `"file": "book.txt", `, ``, 1), []string{"perplexity[0].file"}},
		{"unknown task", strings.Replace(validSpec, `"perplexity"`, `"tasks": [{"task": "niah_single_9", "lengths": [1024]}], "perplexity"`, 1), []string{"tasks[0].task", "niah_single_9"}},
		{"depth on a non-needle task", strings.Replace(validSpec, `"perplexity"`, `"tasks": [{"task": "vt", "lengths": [1024], "depths": [50]}], "perplexity"`, 1), []string{"tasks[0].depths", "vt"}},
		{"depth above 100", strings.Replace(validSpec, `"perplexity"`, `"tasks": [{"task": "niah_single_1", "lengths": [1024], "depths": [150]}], "perplexity"`, 1), []string{"tasks[0].depths[0]", "150"}},
		{"wrong type", strings.Replace(validSpec, `[64]`, `["64"]`, 1), []string{"line 5", "budgets"}},
		{"bad kv", strings.Replace(validSpec, `"budgets"`, `"attention": {"kv": "hbm"}, "budgets"`, 1), []string{"attention.kv", "hbm"}},
		{"layout without pim", strings.Replace(validSpec, `"budgets"`, `"attention": {"kv": "dense", "layout": "attacc"}, "budgets"`, 1), []string{"attention.layout"}},
		{"syntax error", "{\n\"models\": [\"m\",]\n}", []string{"s.json", "line 2"}},
		{"trailing data", validSpec + `{}`, []string{"after the spec"}},
		{"empty", ``, []string{"empty"}},
		{"scorer", strings.Replace(validSpec, `"budgets"`, `"scorer": "bleu", "budgets"`, 1), []string{"scorer", "bleu"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSpec([]byte(tc.spec), "s.json")
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// Defaults are filled in: the other commands' knobs, one window of one
// prefilled token, RULER's scorer and seed 42.
func TestParseSpecDefaults(t *testing.T) {
	s, err := ParseSpec([]byte(strings.Replace(validSpec, `"perplexity"`,
		`"tasks": [{"task": "niah_single_1", "lengths": [1024]}], "perplexity"`, 1)), "s.json")
	if err != nil {
		t.Fatal(err)
	}
	k := s.Attention
	if *k.DenseLayers != 2 || k.Window != 64 || k.ClusterSize != 16 || k.Recluster != 64 || k.PageSize != 16 || k.Sinks != 4 ||
		k.RowTokens != 16 || k.KV != "pim" || k.Layout != "gqa" || k.KMeansInit != "first" {
		t.Errorf("attention defaults %+v", k)
	}
	if p := s.Perplexity[0]; p.Name != "book" || p.Prefill != 1 || p.Windows != 1 {
		t.Errorf("perplexity defaults %+v", p)
	}
	if tw := s.Tasks[0]; tw.Samples != 1 || tw.Seed != 42 || s.Scorer != "ruler" {
		t.Errorf("task defaults %+v, scorer %q", tw, s.Scorer)
	}
}

// FuzzParseSpec: any bytes give a spec or an error naming the file, never
// a panic; an accepted spec is valid again after a round trip.
func FuzzParseSpec(f *testing.F) {
	f.Add([]byte(validSpec))
	f.Add([]byte(`{"models": ["m"], "methods": ["full"], "tasks": [{"task": "niah_single_1", "lengths": [1024], "depths": [0, 50]}]}`))
	f.Add([]byte(`{"models": [""], "attention": {"dense_layers": -1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec(data, "f.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.json") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if err := s.validate(); err != nil {
			t.Fatalf("an accepted spec fails validation again: %v", err)
		}
	})
}
