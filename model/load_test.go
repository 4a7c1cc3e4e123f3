package model_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"starc/model"
	"starc/weights"
)

// writeTinyCheckpoint writes an HF directory for a 1-layer model of width
// 8 (2 heads, 1 KV head, FFN 16, vocab 32) without the tensors in skip.
func writeTinyCheckpoint(t *testing.T, skip string, shapes map[string][]int) string {
	t.Helper()
	dir := t.TempDir()
	config := `{"model_type":"llama","hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,
"num_key_value_heads":1,"intermediate_size":16,"vocab_size":32,"rms_norm_eps":1e-5,"max_position_embeddings":64,
"tie_word_embeddings":true}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	want := map[string][]int{
		"model.embed_tokens.weight":                      {32, 8},
		"model.norm.weight":                              {8},
		"model.layers.0.input_layernorm.weight":          {8},
		"model.layers.0.post_attention_layernorm.weight": {8},
		"model.layers.0.self_attn.q_proj.weight":         {8, 8},
		"model.layers.0.self_attn.k_proj.weight":         {4, 8},
		"model.layers.0.self_attn.v_proj.weight":         {4, 8},
		"model.layers.0.self_attn.o_proj.weight":         {8, 8},
		"model.layers.0.mlp.gate_proj.weight":            {16, 8},
		"model.layers.0.mlp.up_proj.weight":              {16, 8},
		"model.layers.0.mlp.down_proj.weight":            {8, 16},
	}
	for k, v := range shapes {
		want[k] = v
	}
	var tensors []weights.Tensor
	for name, shape := range want {
		if name == skip {
			continue
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		tensors = append(tensors, weights.Tensor{Name: name, DType: weights.F32, Shape: shape, Data: make([]byte, 4*n)})
	}
	f, err := os.Create(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := weights.WriteSafetensors(f, tensors, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func load(t *testing.T, dir string) error {
	t.Helper()
	ckpt, err := weights.OpenCheckpoint(dir)
	if err != nil {
		return err
	}
	defer ckpt.Close()
	_, err = model.Load(ckpt)
	return err
}

func TestLoadTinyCheckpoint(t *testing.T) {
	if err := load(t, writeTinyCheckpoint(t, "", nil)); err != nil {
		t.Fatal(err)
	}
}

func TestLoadMissingTensorNamesIt(t *testing.T) {
	const missing = "model.layers.0.mlp.up_proj.weight"
	err := load(t, writeTinyCheckpoint(t, missing, nil))
	if err == nil || !errors.Is(err, weights.ErrMissingTensor) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("error %v: want ErrMissingTensor naming %s", err, missing)
	}
}

func TestLoadWrongShapeNamesIt(t *testing.T) {
	const name = "model.layers.0.self_attn.k_proj.weight"
	err := load(t, writeTinyCheckpoint(t, "", map[string][]int{name: {8, 8}}))
	if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "[8 8]") {
		t.Fatalf("error %v: want one naming %s and its shape", err, name)
	}
}
