package system

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Model is the shape of a decoder-only transformer as the system model needs it.
// Integer fields are as the checkpoint has them; the two AttAcc fields record how
// AttAcc's model table describes the same model (used only with AttAccCompat).
type Model struct {
	Name         string `json:"name"`
	Layers       int    `json:"layers"`       // decoder layers (AttAcc ndec)
	Hidden       int    `json:"hidden"`       // model width (AttAcc hdim)
	Heads        int    `json:"heads"`        // query heads
	KVHeads      int    `json:"kv_heads"`     // key/value heads (GQA); == Heads for MHA
	HeadDim      int    `json:"head_dim"`     // per-head width
	Intermediate int    `json:"intermediate"` // FFN width (gate/up rows)
	Vocab        int    `json:"vocab"`

	// AttAccFFScale is AttAcc's ff_scale: its FFN width is ff_scale·int(hidden/tp)
	// per GPU (Mistral-7B 3.5, LLAMA-7B 8/3, which is not 11008/4096).
	AttAccFFScale float64 `json:"attacc_ff_scale"`
	// AttAccGatedFFN reproduces AttAcc's name rule: only models whose name
	// contains "LLAMA" get the 3-matrix SwiGLU FFN; all others (Mistral-7B
	// included) get the 2-matrix GELU form.
	AttAccGatedFFN bool `json:"attacc_gated_ffn"`

	// GELUFFN says the model's own FFN is the 2-matrix GELU form (GPT); the
	// zero value is the 3-matrix SwiGLU of Llama and Mistral. Read only
	// without AttAccCompat, where the hardware runs the model as it is.
	GELUFFN bool `json:"gelu_ffn"`
}

// presets holds the named models. Shapes: AttAcc's model table (attacc.md §3.1)
// for layers, hidden, heads, head dim and ff_scale; the HF checkpoints for what
// AttAcc does not record (KV heads, intermediate size, vocabulary):
// Mistral-7B-v0.1, LLaMA-7B, Llama-3.1-8B. Llama-3.1-8B is not in AttAcc's table;
// its ff_scale is 14336/4096 and its name contains "LLAMA". GPT-13B is the STARC
// artifact's simulation model (simulator_starc/src/config.py: [40, 5120, 40,
// 128, 4, 1]): MHA, a 2-matrix GELU FFN of 4·hidden = 20480; it has no
// checkpoint, so no vocabulary (the system model does not read it).
var presets = map[string]Model{
	//               name            layers hidden heads kv  hdim  ffn    vocab   ff_scale  gated  gelu
	"mistral-7b":   {"mistral-7b", 32, 4096, 32, 8, 128, 14336, 32000, 3.5, false, false},
	"llama-7b":     {"llama-7b", 32, 4096, 32, 32, 128, 11008, 32000, 8.0 / 3.0, true, false},
	"llama-3.1-8b": {"llama-3.1-8b", 32, 4096, 32, 8, 128, 14336, 128256, 3.5, true, false},
	"gpt-13b":      {"gpt-13b", 40, 5120, 40, 40, 128, 20480, 0, 4, false, true},
}

// ModelNames lists the preset names, sorted.
func ModelNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ModelByName returns a preset by name (case-insensitive).
func ModelByName(name string) (Model, error) {
	m, ok := presets[strings.ToLower(name)]
	if !ok {
		return Model{}, fmt.Errorf("system: unknown model %q (valid: %s, or a path to an HF config.json)",
			name, strings.Join(ModelNames(), ", "))
	}
	return m, nil
}

// LookupModel resolves a CLI model argument: a preset name, or a path to an HF
// config.json (anything ending in .json or naming an existing file).
func LookupModel(arg string) (Model, error) {
	if m, ok := presets[strings.ToLower(arg)]; ok {
		return m, nil
	}
	if strings.HasSuffix(strings.ToLower(arg), ".json") {
		return ModelFromHFConfig(arg)
	}
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		return ModelFromHFConfig(arg)
	}
	return ModelByName(arg)
}

// hfConfig holds the config.json fields the system model reads.
type hfConfig struct {
	ModelType         string `json:"model_type"`
	HiddenSize        *int   `json:"hidden_size"`
	NumHiddenLayers   *int   `json:"num_hidden_layers"`
	NumAttentionHeads *int   `json:"num_attention_heads"`
	NumKeyValueHeads  *int   `json:"num_key_value_heads"`
	IntermediateSize  *int   `json:"intermediate_size"`
	VocabSize         *int   `json:"vocab_size"`
	HeadDim           *int   `json:"head_dim"`
}

// ModelFromHFConfig reads a Hugging Face config.json. num_key_value_heads
// defaults to num_attention_heads and head_dim to hidden_size/num_attention_heads,
// as in transformers. The AttAcc fields follow AttAcc's rules: ff_scale =
// intermediate/hidden, gated FFN iff model_type contains "llama".
func ModelFromHFConfig(path string) (Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Model{}, fmt.Errorf("system: model config: %w", err)
	}
	var c hfConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return Model{}, fmt.Errorf("system: %s: %w", path, err)
	}
	need := func(field string, v *int) (int, error) {
		if v == nil {
			return 0, fmt.Errorf("system: %s: field %q: missing", path, field)
		}
		if limit := fieldLimits[field]; *v <= 0 || *v > limit {
			return 0, fmt.Errorf("system: %s: field %q: must be in 1..%d, got %d", path, field, limit, *v)
		}
		return *v, nil
	}
	var errs []error
	get := func(field string, v *int) int {
		n, err := need(field, v)
		if err != nil {
			errs = append(errs, err)
		}
		return n
	}
	m := Model{
		Name:         path,
		Hidden:       get("hidden_size", c.HiddenSize),
		Layers:       get("num_hidden_layers", c.NumHiddenLayers),
		Heads:        get("num_attention_heads", c.NumAttentionHeads),
		Intermediate: get("intermediate_size", c.IntermediateSize),
		Vocab:        get("vocab_size", c.VocabSize),
	}
	if err := errors.Join(errs...); err != nil {
		return Model{}, err
	}
	m.KVHeads = m.Heads
	if c.NumKeyValueHeads != nil {
		if m.KVHeads, err = need("num_key_value_heads", c.NumKeyValueHeads); err != nil {
			return Model{}, err
		}
	}
	m.HeadDim = m.Hidden / m.Heads
	if c.HeadDim != nil {
		if m.HeadDim, err = need("head_dim", c.HeadDim); err != nil {
			return Model{}, err
		}
	}
	m.AttAccFFScale = float64(m.Intermediate) / float64(m.Hidden)
	m.AttAccGatedFFN = strings.Contains(strings.ToLower(c.ModelType), "llama")
	if err := m.Validate(); err != nil {
		return Model{}, fmt.Errorf("system: %s: %w", path, err)
	}
	return m, nil
}

// fieldLimits bounds each config.json field the system model reads. They are
// 16× or more beyond any released decoder (Llama-3.1-405B: 126 layers,
// hidden 16384, 128 heads, FFN 53248, vocabulary 128256) and keep every
// product the model forms (layers × hidden × intermediate × batch, the KV
// bytes of a context) inside int64 and exact in float64, so a run's memory and
// time stay those of its decode steps.
var fieldLimits = map[string]int{
	"num_hidden_layers":   1 << 12,
	"hidden_size":         1 << 18,
	"num_attention_heads": 1 << 12,
	"num_key_value_heads": 1 << 12,
	"head_dim":            1 << 12,
	"intermediate_size":   1 << 20,
	"vocab_size":          1 << 24,
}

// Validate checks the shape for internal consistency and against the bounds
// of fieldLimits.
func (m Model) Validate() error {
	for _, f := range []struct {
		name, field string
		v           int
	}{{"layers", "num_hidden_layers", m.Layers}, {"hidden", "hidden_size", m.Hidden}, {"heads", "num_attention_heads", m.Heads},
		{"kv_heads", "num_key_value_heads", m.KVHeads}, {"head_dim", "head_dim", m.HeadDim},
		{"intermediate", "intermediate_size", m.Intermediate}} {
		if f.v <= 0 || f.v > fieldLimits[f.field] {
			return fmt.Errorf("model %q: %s (config.json %s) must be in 1..%d, got %d", m.Name, f.name, f.field, fieldLimits[f.field], f.v)
		}
	}
	if m.Vocab < 0 || m.Vocab > fieldLimits["vocab_size"] {
		return fmt.Errorf("model %q: vocab (config.json vocab_size) must be in 0..%d, got %d", m.Name, fieldLimits["vocab_size"], m.Vocab)
	}
	if m.Heads%m.KVHeads != 0 {
		return fmt.Errorf("model %q: heads (%d) not a multiple of kv_heads (%d)", m.Name, m.Heads, m.KVHeads)
	}
	if m.AttAccFFScale <= 0 {
		return fmt.Errorf("model %q: attacc_ff_scale must be positive, got %g", m.Name, m.AttAccFFScale)
	}
	return nil
}
