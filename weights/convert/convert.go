// Package convert turns a GGUF checkpoint (llama or qwen2 architecture) into a
// standard HF checkpoint directory: config.json, model.safetensors,
// tokenizer.json (built from the GGUF tokenizer metadata),
// tokenizer_config.json (with the chat template, when the GGUF has one) and
// generation_config.json.
//
// Quantised tensors are dequantised and written in the requested float
// dtype. GGUF "llama" checkpoints rotate adjacent pairs of each Q/K head
// while HF checkpoints rotate split halves, so the rows of every Q and K
// head are permuted back into HF order (the inverse of the permutation HF's
// GGUF converter applies). GGUF "qwen2" checkpoints keep HF's order (llama.cpp
// runs them with NeoX-style RoPE), so their rows are copied as they are; they
// also carry q/k/v projection biases, written as HF's *_proj.bias tensors.
// 1-D tensors (norm weights, biases) stay float32, as llama.cpp keeps them.
//
// The output directory is written atomically: everything goes to a
// temporary sibling directory that is renamed into place at the end, so a
// failure or a cancellation never leaves a half-written directory (the
// temporary one is removed) and never touches an existing one unless
// Options.Force is set. The model is validated before anything is written:
// every tensor a llama checkpoint needs, with the shape the hyperparameters
// imply, and nothing else.
package convert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"starc/model/kernels"
	"starc/tokenizer"
	"starc/weights"
)

// Options controls Convert.
type Options struct {
	DType weights.DType // BF16 (default), F16 or F32 for matrices
	Force bool          // replace an existing output directory
}

// Summary describes what Convert wrote.
type Summary struct {
	Tensors       int
	Bytes         int64
	Architecture  string
	TokenizerType string
}

// hparams are the GGUF hyperparameters of a llama- or qwen2-architecture model.
type hparams struct {
	arch                             string // general.architecture, also the prefix of its keys
	qkvBias                          bool   // q/k/v projection biases (qwen2)
	dim, layers, heads, kvHeads, ffn int
	vocab, context, headDim          int
	eps, ropeTheta                   float64
	bos, eos                         int
	moreEOS                          []int // qwen2: <|endoftext|>, which also ends generation
	tied                             bool
}

// Convert reads the GGUF file in and writes an HF directory to out. It stops
// with ctx's error, removing what it wrote, when ctx is done.
func Convert(ctx context.Context, in, out string, opt Options) (Summary, error) {
	var sum Summary
	if opt.DType == "" {
		opt.DType = weights.BF16
	}
	if opt.DType != weights.BF16 && opt.DType != weights.F16 && opt.DType != weights.F32 {
		return sum, fmt.Errorf("convert: dtype %q not supported (want bf16, f16 or f32)", opt.DType)
	}
	if _, err := os.Stat(out); err == nil && !opt.Force {
		return sum, fmt.Errorf("convert: %s already exists (remove it or use --force)", out)
	}
	g, err := weights.OpenGGUF(in)
	if err != nil {
		return sum, err
	}
	defer g.Close()
	hp, err := readHParams(g)
	if err != nil {
		return sum, err
	}
	if err := checkTensors(g, hp); err != nil {
		return sum, err
	}
	sum.Architecture = hp.arch

	parent := filepath.Dir(filepath.Clean(out))
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return sum, fmt.Errorf("convert: %w", err)
	}
	defer os.RemoveAll(tmp)                      // a no-op after the rename succeeds
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it private
		return sum, fmt.Errorf("convert: %w", err)
	}

	tensors, err := convertTensors(ctx, g, hp, opt.DType)
	if err != nil {
		return sum, err
	}
	sum.Tensors = len(tensors)
	if sum.Bytes, err = writeSafetensors(ctx, filepath.Join(tmp, "model.safetensors"), tensors, in); err != nil {
		return sum, err
	}
	if sum.TokenizerType, err = writeTokenizer(g, hp, tmp); err != nil {
		return sum, err
	}
	if err := writeJSON(filepath.Join(tmp, "config.json"), hfConfig(hp, opt.DType)); err != nil {
		return sum, err
	}
	gen := map[string]any{"bos_token_id": hp.bos, "eos_token_id": hp.eosIDs(), "_from_gguf": filepath.Base(in)}
	if err := writeJSON(filepath.Join(tmp, "generation_config.json"), gen); err != nil {
		return sum, err
	}
	if err := ctx.Err(); err != nil {
		return sum, fmt.Errorf("convert: stopped before renaming into %s: %w", out, err)
	}
	return sum, replaceDir(tmp, out)
}

// checkTensors validates the GGUF's tensors against hp before anything is
// written: each tensor maps to an HF name, none is duplicated, every
// required one is present with the shape hp implies (so none has a zero
// dimension), and the output matrix is there unless the embeddings are tied.
func checkTensors(g *weights.GGUFFile, hp hparams) error {
	tis := g.Tensors()
	if len(tis) == 0 {
		return fmt.Errorf("convert: %s: the file holds no tensors", g.Path())
	}
	// GGUF ne order: [cols, rows].
	want := map[string][]int{
		"token_embd.weight":  {hp.dim, hp.vocab},
		"output_norm.weight": {hp.dim},
	}
	if !hp.tied {
		want["output.weight"] = []int{hp.dim, hp.vocab}
	}
	q, kv := hp.heads*hp.headDim, hp.kvHeads*hp.headDim
	for l := range hp.layers {
		if hp.qkvBias {
			want[fmt.Sprintf("blk.%d.attn_q.bias", l)] = []int{q}
			want[fmt.Sprintf("blk.%d.attn_k.bias", l)] = []int{kv}
			want[fmt.Sprintf("blk.%d.attn_v.bias", l)] = []int{kv}
		}
		for name, ne := range map[string][]int{
			"attn_norm.weight": {hp.dim}, "ffn_norm.weight": {hp.dim},
			"attn_q.weight": {hp.dim, q}, "attn_k.weight": {hp.dim, kv}, "attn_v.weight": {hp.dim, kv},
			"attn_output.weight": {q, hp.dim},
			"ffn_gate.weight":    {hp.dim, hp.ffn}, "ffn_up.weight": {hp.dim, hp.ffn}, "ffn_down.weight": {hp.ffn, hp.dim},
		} {
			want[fmt.Sprintf("blk.%d.%s", l, name)] = ne
		}
	}
	seen := make(map[string]bool, len(tis))
	for _, ti := range tis {
		if slices.Contains(ti.Ne, 0) {
			return fmt.Errorf("convert: %s: tensor %q has a zero-sized dimension (ne %v)", g.Path(), ti.Name, ti.Ne)
		}
		if _, _, ok := tensorName(ti.Name, hp); !ok {
			return fmt.Errorf("convert: %s: tensor %q has no HF equivalent in a %s checkpoint of %d layers", g.Path(), ti.Name, hp.arch, hp.layers)
		}
		if seen[ti.Name] {
			return fmt.Errorf("convert: %s: tensor %q appears twice", g.Path(), ti.Name)
		}
		seen[ti.Name] = true
		if ne := want[ti.Name]; !slices.Equal(ti.Ne, ne) {
			return fmt.Errorf("convert: %s: tensor %q has ne %v, the hyperparameters imply %v", g.Path(), ti.Name, ti.Ne, ne)
		}
	}
	var missing []string
	for name := range want {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("convert: %s: %d required tensors missing, first %q", g.Path(), len(missing), missing[0])
	}
	return nil
}

func readHParams(g *weights.GGUFFile) (hparams, error) {
	var hp hparams
	arch, err := g.String("general.architecture")
	if err != nil {
		return hp, err
	}
	if arch != "llama" && arch != "qwen2" {
		return hp, fmt.Errorf("convert: %s: general.architecture %q is not supported (want \"llama\" or \"qwen2\")", g.Path(), arch)
	}
	hp.arch, hp.qkvBias = arch, arch == "qwen2"
	ints := []struct {
		key string
		dst *int
		opt bool
	}{
		{".embedding_length", &hp.dim, false},
		{".block_count", &hp.layers, false},
		{".attention.head_count", &hp.heads, false},
		{".attention.head_count_kv", &hp.kvHeads, true},
		{".feed_forward_length", &hp.ffn, false},
		{".context_length", &hp.context, false},
		{".rope.dimension_count", &hp.headDim, true},
	}
	for _, f := range ints {
		f.key = arch + f.key
		v, err := g.Uint(f.key)
		if err != nil {
			if f.opt {
				continue
			}
			return hp, err
		}
		if v == 0 || v > 1<<24 {
			return hp, fmt.Errorf("convert: %s: %s = %d is out of range", g.Path(), f.key, v)
		}
		*f.dst = int(v)
	}
	if hp.kvHeads == 0 {
		hp.kvHeads = hp.heads
	}
	if hp.heads%hp.kvHeads != 0 || hp.dim%hp.heads != 0 {
		return hp, fmt.Errorf("convert: %s: %d heads, %d KV heads and width %d do not divide", g.Path(), hp.heads, hp.kvHeads, hp.dim)
	}
	if want := hp.dim / hp.heads; hp.headDim == 0 {
		hp.headDim = want
	} else if hp.headDim != want {
		return hp, fmt.Errorf("convert: %s: %s.rope.dimension_count %d differs from the head size %d (partial RoPE is not supported)", g.Path(), arch, hp.headDim, want)
	}
	if hp.eps, err = g.Float(arch + ".attention.layer_norm_rms_epsilon"); err != nil {
		return hp, err
	}
	hp.ropeTheta = 10000 // llama.cpp's default when the key is absent
	if v, err := g.Float(arch + ".rope.freq_base"); err == nil {
		hp.ropeTheta = v
	}
	if _, ok := g.Metadata(arch + ".rope.scaling.type"); ok {
		return hp, fmt.Errorf("convert: %s: %s.rope.scaling.type is set; RoPE scaling from GGUF is not supported", g.Path(), arch)
	}
	tokens, err := g.Strings("tokenizer.ggml.tokens")
	if err != nil {
		return hp, err
	}
	hp.vocab = len(tokens)
	hp.bos, hp.eos = optionalID(g, "tokenizer.ggml.bos_token_id", 1), optionalID(g, "tokenizer.ggml.eos_token_id", 2)
	if id := slices.Index(tokens, "<|endoftext|>"); arch == "qwen2" && id >= 0 && id != hp.eos {
		hp.moreEOS = []int{id} // Qwen2.5's generation_config stops at <|im_end|> and <|endoftext|>
	}
	_, _, err = g.TensorData("output.weight")
	hp.tied = err != nil
	return hp, nil
}

// eosIDs is eos_token_id as config.json and generation_config.json hold it:
// one id, or a list when more tokens end generation (qwen2's <|endoftext|>).
func (hp hparams) eosIDs() any {
	if len(hp.moreEOS) > 0 {
		return append([]int{hp.eos}, hp.moreEOS...)
	}
	return hp.eos
}

func optionalID(g *weights.GGUFFile, key string, def int) int {
	v, err := g.Uint(key)
	if err != nil || v >= 1<<31 {
		return def
	}
	return int(v)
}

// tensorName maps a GGUF tensor name to its HF name and says whether its
// rows must be un-permuted (llama's Q: by heads, K: by KV heads; never for
// qwen2, whose GGUF keeps HF's row order).
func tensorName(name string, hp hparams) (hf string, permuteHeads int, ok bool) {
	switch name {
	case "token_embd.weight":
		return "model.embed_tokens.weight", 0, true
	case "output_norm.weight":
		return "model.norm.weight", 0, true
	case "output.weight":
		return "lm_head.weight", 0, true
	}
	var layer int
	var rest string
	if n, _ := fmt.Sscanf(name, "blk.%d.%s", &layer, &rest); n != 2 || layer < 0 || layer >= hp.layers {
		return "", 0, false
	}
	names := map[string]string{
		"attn_norm.weight":   "input_layernorm.weight",
		"attn_q.weight":      "self_attn.q_proj.weight",
		"attn_k.weight":      "self_attn.k_proj.weight",
		"attn_v.weight":      "self_attn.v_proj.weight",
		"attn_output.weight": "self_attn.o_proj.weight",
		"ffn_norm.weight":    "post_attention_layernorm.weight",
		"ffn_gate.weight":    "mlp.gate_proj.weight",
		"ffn_up.weight":      "mlp.up_proj.weight",
		"ffn_down.weight":    "mlp.down_proj.weight",
	}
	if hp.qkvBias {
		names["attn_q.bias"] = "self_attn.q_proj.bias"
		names["attn_k.bias"] = "self_attn.k_proj.bias"
		names["attn_v.bias"] = "self_attn.v_proj.bias"
	}
	suffix, ok := names[rest]
	if !ok {
		return "", 0, false
	}
	if hp.arch == "qwen2" {
		return fmt.Sprintf("model.layers.%d.%s", layer, suffix), 0, true
	}
	switch rest {
	case "attn_q.weight":
		permuteHeads = hp.heads
	case "attn_k.weight":
		permuteHeads = hp.kvHeads
	}
	return fmt.Sprintf("model.layers.%d.%s", layer, suffix), permuteHeads, true
}

// convertTensors dequantises, un-permutes and casts every tensor. 1-D
// tensors go first (float32), then matrices, so each starts aligned.
func convertTensors(ctx context.Context, g *weights.GGUFFile, hp hparams, dtype weights.DType) ([]weights.Tensor, error) {
	var vectors, matrices []weights.Tensor
	for _, ti := range g.Tensors() {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("convert: stopped before tensor %q: %w", ti.Name, err)
		}
		hf, permuteHeads, ok := tensorName(ti.Name, hp)
		if !ok {
			return nil, fmt.Errorf("convert: %s: tensor %q has no HF equivalent in a %s checkpoint", g.Path(), ti.Name, hp.arch)
		}
		data, _, err := g.TensorData(ti.Name)
		if err != nil {
			return nil, err
		}
		n := ti.NumElements()
		f := make([]float32, n)
		if err := weights.Dequantize(f, ti.Type, data, n); err != nil {
			return nil, fmt.Errorf("convert: %s: tensor %q: %w", g.Path(), ti.Name, err)
		}
		// GGUF ne = [cols, rows]; HF shape = [rows, cols].
		shape := make([]int, len(ti.Ne))
		for i, d := range ti.Ne {
			shape[len(ti.Ne)-1-i] = d
		}
		if len(shape) == 1 {
			vectors = append(vectors, weights.Tensor{Name: hf, DType: weights.F32, Shape: shape, Data: float32Bytes(f)})
			continue
		}
		if len(shape) != 2 {
			return nil, fmt.Errorf("convert: %s: tensor %q has %d dimensions, want 1 or 2", g.Path(), ti.Name, len(shape))
		}
		if permuteHeads > 0 {
			if f, err = unpermuteRows(f, shape[0], shape[1], permuteHeads); err != nil {
				return nil, fmt.Errorf("convert: %s: tensor %q: %w", g.Path(), ti.Name, err)
			}
		}
		matrices = append(matrices, weights.Tensor{Name: hf, DType: dtype, Shape: shape, Data: encode(f, dtype)})
	}
	return append(vectors, matrices...), nil
}

// unpermuteRows turns rows in GGUF order (per head, adjacent RoPE pairs
// (2i, 2i+1)) into HF order (per head, pairs (i, i+d/2)): HF row
// h·d + j·d/2 + i comes from GGUF row h·d + 2i + j.
func unpermuteRows(w []float32, rows, cols, heads int) ([]float32, error) {
	if rows%heads != 0 || (rows/heads)%2 != 0 {
		return nil, fmt.Errorf("%d rows do not split into %d heads of even size", rows, heads)
	}
	d := rows / heads
	out := make([]float32, len(w))
	for h := range heads {
		for j := range 2 {
			for i := range d / 2 {
				dst, src := h*d+j*d/2+i, h*d+2*i+j
				copy(out[dst*cols:(dst+1)*cols], w[src*cols:(src+1)*cols])
			}
		}
	}
	return out, nil
}

func encode(f []float32, dtype weights.DType) []byte {
	switch dtype {
	case weights.BF16:
		u := make([]uint16, len(f))
		kernels.F32ToBF16(u, f)
		return uint16Bytes(u)
	case weights.F16:
		u := make([]uint16, len(f))
		kernels.F32ToF16(u, f)
		return uint16Bytes(u)
	}
	return float32Bytes(f)
}

func writeSafetensors(ctx context.Context, path string, tensors []weights.Tensor, source string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("convert: %w", err)
	}
	meta := map[string]string{"format": "pt", "converted_from": filepath.Base(source)}
	if err := weights.WriteSafetensors(ctxWriter{ctx, f}, tensors, meta); err != nil {
		f.Close()
		return 0, fmt.Errorf("convert: %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("convert: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("convert: %w", err)
	}
	return st.Size(), nil
}

// writeTokenizer builds tokenizer.json (and tokenizer_config.json) from
// the GGUF tokenizer metadata.
func writeTokenizer(g *weights.GGUFFile, hp hparams, dir string) (string, error) {
	model, err := g.String("tokenizer.ggml.model")
	if err != nil {
		return "", err
	}
	v := tokenizer.GGUFVocab{Model: model, BOS: hp.bos, EOS: hp.eos, UNK: optionalID(g, "tokenizer.ggml.unknown_token_id", -1),
		PAD: optionalID(g, "tokenizer.ggml.padding_token_id", -1)}
	if v.Tokens, err = g.Strings("tokenizer.ggml.tokens"); err != nil {
		return "", err
	}
	if model == "llama" {
		if v.Scores, err = g.Float32s("tokenizer.ggml.scores"); err != nil {
			return "", err
		}
	}
	if types, err := g.Int32s("tokenizer.ggml.token_type"); err == nil {
		v.TokenTypes = types
	}
	if model == "gpt2" {
		if v.Merges, err = g.Strings("tokenizer.ggml.merges"); err != nil {
			return "", err
		}
	}
	v.Pre = "default"
	if pre, err := g.String("tokenizer.ggml.pre"); err == nil {
		v.Pre = pre
	}
	v.AddBOS, v.AddEOS, v.AddSpacePrefix = tokenizer.GGUFDefaults(model) // llama.cpp's values for absent keys
	if b, ok := boolKey(g, "tokenizer.ggml.add_bos_token"); ok {
		v.AddBOS = b
	}
	if b, ok := boolKey(g, "tokenizer.ggml.add_eos_token"); ok {
		v.AddEOS = b
	}
	if b, ok := boolKey(g, "tokenizer.ggml.add_space_prefix"); ok {
		v.AddSpacePrefix = b
	}
	v.ChatTemplate, _ = g.String("tokenizer.chat_template")
	js, err := tokenizer.FromGGUF(v)
	if err != nil {
		return "", fmt.Errorf("convert: %s: %w", g.Path(), err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), js, 0o644); err != nil {
		return "", fmt.Errorf("convert: %w", err)
	}
	tc := map[string]any{"add_bos_token": v.AddBOS, "add_eos_token": v.AddEOS}
	if hp.bos >= 0 && hp.bos < len(v.Tokens) {
		tc["bos_token"] = v.Tokens[hp.bos]
	}
	if hp.eos >= 0 && hp.eos < len(v.Tokens) {
		tc["eos_token"] = v.Tokens[hp.eos]
	}
	if v.ChatTemplate != "" {
		tc["chat_template"] = v.ChatTemplate
	}
	return model, writeJSON(filepath.Join(dir, "tokenizer_config.json"), tc)
}

func boolKey(g *weights.GGUFFile, key string) (bool, bool) {
	v, ok := g.Metadata(key)
	if !ok {
		return false, false
	}
	b, ok := v.Value.(bool)
	return b, ok
}

func hfConfig(hp hparams, dtype weights.DType) map[string]any {
	c := map[string]any{
		"architectures":           []string{"LlamaForCausalLM"},
		"model_type":              "llama",
		"hidden_size":             hp.dim,
		"intermediate_size":       hp.ffn,
		"num_hidden_layers":       hp.layers,
		"num_attention_heads":     hp.heads,
		"num_key_value_heads":     hp.kvHeads,
		"head_dim":                hp.headDim,
		"vocab_size":              hp.vocab,
		"max_position_embeddings": hp.context,
		"rms_norm_eps":            float64(float32(hp.eps)),
		"rope_theta":              hp.ropeTheta,
		"rope_scaling":            nil,
		"tie_word_embeddings":     hp.tied,
		"bos_token_id":            hp.bos,
		"eos_token_id":            hp.eosIDs(),
		"hidden_act":              "silu",
		"torch_dtype":             map[weights.DType]string{weights.BF16: "bfloat16", weights.F16: "float16", weights.F32: "float32"}[dtype],
	}
	if hp.arch == "qwen2" {
		// Qwen2Config's names: no head_dim (always hidden/heads), q/k/v biases implied
		// by the model type, and a sliding window that is off.
		c["architectures"] = []string{"Qwen2ForCausalLM"}
		c["model_type"] = "qwen2"
		delete(c, "head_dim")
		c["use_sliding_window"] = false
		c["sliding_window"] = hp.context
		c["max_window_layers"] = hp.layers
		c["attention_dropout"] = 0.0
	}
	return c
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("convert: %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	return nil
}

// ctxWriter fails every Write once its context is done, so a long write
// stops at the next buffer.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// replaceDir renames tmp to out. An existing out (only with Force) is moved
// aside first and deleted only once the new directory is in place.
func replaceDir(tmp, out string) error {
	if _, err := os.Stat(out); err == nil {
		old := out + ".old-" + strings.TrimPrefix(filepath.Base(tmp), "."+filepath.Base(out)+".tmp-")
		if err := os.Rename(out, old); err != nil {
			return fmt.Errorf("convert: %w", err)
		}
		if err := os.Rename(tmp, out); err != nil {
			os.Rename(old, out) // put the user's directory back
			return fmt.Errorf("convert: %w", err)
		}
		return os.RemoveAll(old)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	return nil
}
