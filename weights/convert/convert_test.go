package convert

import (
	"slices"
	"testing"

	"starc/weights"
)

// HF's GGUF converter reorders each head's rows so that rotating adjacent
// pairs (2i, 2i+1) equals HF's rotation of (i, i+d/2): GGUF row h·d+2i+j
// holds HF row h·d+j·d/2+i. unpermuteRows must undo exactly that.
func TestUnpermuteRowsUndoesHFPermutation(t *testing.T) {
	const heads, d, cols = 3, 8, 2
	hf := make([]float32, heads*d*cols)
	for i := range hf {
		hf[i] = float32(i)
	}
	gguf := make([]float32, len(hf))
	for h := range heads {
		for i := range d / 2 {
			for j := range 2 {
				src, dst := h*d+j*d/2+i, h*d+2*i+j
				copy(gguf[dst*cols:(dst+1)*cols], hf[src*cols:(src+1)*cols])
			}
		}
	}
	got, err := unpermuteRows(gguf, heads*d, cols, heads)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, hf) {
		t.Fatalf("unpermute(permute(x)) != x:\n got %v\nwant %v", got, hf)
	}
	// Head 0, rows 0..7 of GGUF are HF rows 0,4,1,5,2,6,3,7.
	if want := []float32{0, 1, 8, 9, 2, 3, 10, 11}; !slices.Equal(gguf[:8], want) {
		t.Fatalf("permutation of head 0 = %v, want %v", gguf[:8], want)
	}
	if _, err := unpermuteRows(gguf, heads*d, cols, 5); err == nil {
		t.Error("rows not splitting into heads gave no error")
	}
}

func TestTensorNameMapsEveryLlamaTensor(t *testing.T) {
	hp := hparams{layers: 2, heads: 4, kvHeads: 2}
	cases := []struct {
		gguf, hf string
		permute  int
	}{
		{"token_embd.weight", "model.embed_tokens.weight", 0},
		{"output_norm.weight", "model.norm.weight", 0},
		{"output.weight", "lm_head.weight", 0},
		{"blk.1.attn_q.weight", "model.layers.1.self_attn.q_proj.weight", 4},
		{"blk.0.attn_k.weight", "model.layers.0.self_attn.k_proj.weight", 2},
		{"blk.0.attn_v.weight", "model.layers.0.self_attn.v_proj.weight", 0},
		{"blk.1.ffn_down.weight", "model.layers.1.mlp.down_proj.weight", 0},
	}
	for _, tc := range cases {
		hf, perm, ok := tensorName(tc.gguf, hp)
		if !ok || hf != tc.hf || perm != tc.permute {
			t.Errorf("%s → %q, permute %d, %v; want %q, %d", tc.gguf, hf, perm, ok, tc.hf, tc.permute)
		}
	}
	for _, bad := range []string{"blk.2.attn_q.weight", "blk.0.attn_qkv.weight", "rope_freqs.weight"} {
		if _, _, ok := tensorName(bad, hp); ok {
			t.Errorf("%s was accepted", bad)
		}
	}
}

// A qwen2 GGUF keeps HF's row order (llama.cpp runs it with NeoX RoPE), so
// nothing is permuted, and its q/k/v biases map to HF's *_proj.bias.
func TestTensorNameMapsQwen2Tensors(t *testing.T) {
	hp := hparams{arch: "qwen2", qkvBias: true, layers: 2, heads: 4, kvHeads: 2}
	cases := []struct{ gguf, hf string }{
		{"blk.1.attn_q.weight", "model.layers.1.self_attn.q_proj.weight"},
		{"blk.0.attn_k.weight", "model.layers.0.self_attn.k_proj.weight"},
		{"blk.1.attn_q.bias", "model.layers.1.self_attn.q_proj.bias"},
		{"blk.0.attn_k.bias", "model.layers.0.self_attn.k_proj.bias"},
		{"blk.0.attn_v.bias", "model.layers.0.self_attn.v_proj.bias"},
		{"output.weight", "lm_head.weight"},
	}
	for _, tc := range cases {
		hf, perm, ok := tensorName(tc.gguf, hp)
		if !ok || hf != tc.hf || perm != 0 {
			t.Errorf("%s → %q, permute %d, %v; want %q, 0", tc.gguf, hf, perm, ok, tc.hf)
		}
	}
	for _, bad := range []string{"blk.0.attn_output.bias", "blk.2.attn_q.bias"} {
		if _, _, ok := tensorName(bad, hp); ok {
			t.Errorf("%s was accepted", bad)
		}
	}
	llama := hparams{arch: "llama", layers: 2, heads: 4, kvHeads: 2}
	if _, _, ok := tensorName("blk.0.attn_q.bias", llama); ok {
		t.Error("a llama checkpoint accepted blk.0.attn_q.bias")
	}
}

// config.json of a qwen2 GGUF uses Qwen2Config's names and stops at <|endoftext|> as well
// as the GGUF's eos (<|im_end|>), as Qwen2.5's generation_config does; llama keeps one id.
func TestHFConfigQwen2(t *testing.T) {
	qwen := hparams{arch: "qwen2", qkvBias: true, layers: 24, heads: 14, kvHeads: 2, headDim: 64, context: 32768,
		eos: 151645, moreEOS: []int{151643}}
	c := hfConfig(qwen, weights.BF16)
	if c["model_type"] != "qwen2" || c["use_sliding_window"] != false || c["head_dim"] != nil {
		t.Errorf("qwen2 config: model_type %v, use_sliding_window %v, head_dim %v", c["model_type"], c["use_sliding_window"], c["head_dim"])
	}
	if eos, ok := c["eos_token_id"].([]int); !ok || !slices.Equal(eos, []int{151645, 151643}) {
		t.Errorf("qwen2 eos_token_id = %v, want [151645 151643]", c["eos_token_id"])
	}
	llama := hfConfig(hparams{arch: "llama", eos: 2, headDim: 64}, weights.BF16)
	if llama["model_type"] != "llama" || llama["eos_token_id"] != 2 || llama["head_dim"] != 64 {
		t.Errorf("llama config: model_type %v, eos_token_id %v, head_dim %v", llama["model_type"], llama["eos_token_id"], llama["head_dim"])
	}
}
