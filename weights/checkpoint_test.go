package weights

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeFiles creates dir/name for every entry of files.
func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func shard(t *testing.T, tensors ...Tensor) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, tensors, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func f32Tensor(name string, vals ...float32) Tensor {
	return Tensor{Name: name, DType: F32, Shape: []int{len(vals)}, Data: le32s(vals...)}
}

const testConfig = `{"hidden_size": 4}`

func TestCheckpointSingleFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{
		"config.json":            []byte(testConfig),
		"generation_config.json": []byte(`{"do_sample": false}`),
		"tokenizer.json":         []byte(`{}`),
		"model.safetensors":      shard(t, f32Tensor("b", 3), f32Tensor("a", 1, 2)),
	})
	c, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if string(c.ConfigJSON) != testConfig || string(c.GenerationConfigJSON) != `{"do_sample": false}` {
		t.Errorf("config %q, generation config %q", c.ConfigJSON, c.GenerationConfigJSON)
	}
	if got := c.Names(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("Names() = %v", got)
	}
	a, err := c.Tensor("a")
	if err != nil {
		t.Fatal(err)
	}
	if vals, _ := a.Float32s(); !reflect.DeepEqual(vals, []float32{1, 2}) {
		t.Errorf("a = %v", vals)
	}
	if p, err := c.TokenizerPath(); err != nil || p != filepath.Join(dir, "tokenizer.json") {
		t.Errorf("TokenizerPath() = %q, %v", p, err)
	}
	if c.Dir() != dir {
		t.Errorf("Dir() = %q", c.Dir())
	}
	if _, err := c.Tensor("zzz"); !errors.Is(err, ErrMissingTensor) || !strings.Contains(err.Error(), `"zzz"`) || !strings.Contains(err.Error(), dir) {
		t.Errorf("missing tensor error: %v", err)
	}
}

func TestCheckpointSharded(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{
		"config.json":                      []byte(testConfig),
		"model-00001-of-00002.safetensors": shard(t, f32Tensor("x", 1), f32Tensor("y", 2)),
		"model-00002-of-00002.safetensors": shard(t, f32Tensor("z", 3)),
		"model.safetensors.index.json": []byte(`{"metadata": {"total_size": 12}, "weight_map": {
			"x": "model-00001-of-00002.safetensors", "y": "model-00001-of-00002.safetensors",
			"z": "model-00002-of-00002.safetensors"}}`),
	})
	c, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Names(); !reflect.DeepEqual(got, []string{"x", "y", "z"}) {
		t.Errorf("Names() = %v", got)
	}
	for name, want := range map[string]float32{"x": 1, "y": 2, "z": 3} {
		tn, err := c.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		if vals, _ := tn.Float32s(); len(vals) != 1 || vals[0] != want {
			t.Errorf("%s = %v, want %v", name, vals, want)
		}
	}
	if c.GenerationConfigJSON != nil {
		t.Errorf("GenerationConfigJSON = %q, want nil", c.GenerationConfigJSON)
	}
	if _, err := c.TokenizerPath(); err == nil || !strings.Contains(err.Error(), "no tokenizer.json") {
		t.Errorf("TokenizerPath() error = %v", err)
	}
}

func TestCheckpointErrors(t *testing.T) {
	const index = "model.safetensors.index.json"
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"missing config", map[string]string{}, "missing config.json"},
		{"no weights", map[string]string{"config.json": testConfig}, "no model.safetensors or model.safetensors.index.json"},
		{"bad single file", map[string]string{"config.json": testConfig, "model.safetensors": "tiny"}, "model.safetensors: file is 4 bytes"},
		{"bad index JSON", map[string]string{"config.json": testConfig, index: `{"weight_map": [`}, index + ": unexpected end of JSON"},
		{"empty weight_map", map[string]string{"config.json": testConfig, index: `{"weight_map": {}}`}, index + ": weight_map is missing or empty"},
		{"missing shard", map[string]string{"config.json": testConfig, index: `{"weight_map": {"x": "s1.safetensors"}}`}, "s1.safetensors: no such file"},
		{"escaping shard path", map[string]string{"config.json": testConfig, index: `{"weight_map": {"x": "../s1.safetensors"}}`}, `shard "../s1.safetensors" is not a path inside the checkpoint`},
		{"name not in shard", map[string]string{"config.json": testConfig, "s1.safetensors": "X", index: `{"weight_map": {"nope": "s1.safetensors"}}`}, `tensor "nope" mapped to s1.safetensors: tensor not found`},
		{"name in two shards", map[string]string{"config.json": testConfig, "s1.safetensors": "X", "s2.safetensors": "X",
			index: `{"weight_map": {"x": "s1.safetensors", "y": "s2.safetensors"}}`}, `tensor "x" is in both s1.safetensors and s2.safetensors`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string][]byte{}
			for name, content := range tc.files {
				if content == "X" { // a valid shard holding tensor "x"
					files[name] = shard(t, f32Tensor("x", 1))
					continue
				}
				files[name] = []byte(content)
			}
			writeFiles(t, dir, files)
			c, err := OpenCheckpoint(dir)
			if err == nil {
				c.Close()
				t.Fatal("opened without error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}
