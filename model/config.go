package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// Config holds the validated, derived hyperparameters of a Llama/Mistral
// decoder, read from an HF config.json.
type Config struct {
	Arch           string  // model_type: "llama", "mistral" or "qwen2"
	Dim            int     // hidden_size
	Layers         int     // num_hidden_layers
	Heads          int     // num_attention_heads
	KVHeads        int     // num_key_value_heads (GQA)
	HeadDim        int     // head_dim, or hidden_size / num_attention_heads
	FFN            int     // intermediate_size
	Vocab          int     // vocab_size
	MaxPositions   int     // max_position_embeddings
	RMSEps         float32 // rms_norm_eps
	RopeTheta      float64 // rope_theta
	RopeScaling    *RopeScaling
	TiedEmbeddings bool  // tie_word_embeddings: the LM head is the embedding
	SlidingWindow  int   // sliding_window (Mistral; Qwen2 only with use_sliding_window); 0 = none
	QKVBias        bool  // q/k/v projections have biases (Qwen2)
	BOS            int   // bos_token_id, -1 if absent
	EOS            []int // eos_token_id (one or several), may be empty
}

// RopeScaling is the rope_scaling block. Supported types: "linear" and
// "llama3" (Llama 3.1's frequency-dependent scaling).
type RopeScaling struct {
	Type                          string  `json:"rope_type"`
	LegacyType                    string  `json:"type"`
	Factor                        float64 `json:"factor"`
	LowFreqFactor                 float64 `json:"low_freq_factor"`
	HighFreqFactor                float64 `json:"high_freq_factor"`
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings"`
}

// hfConfig is config.json as HF writes it; only the fields we read.
type hfConfig struct {
	ModelType             string          `json:"model_type"`
	HiddenSize            int             `json:"hidden_size"`
	NumHiddenLayers       int             `json:"num_hidden_layers"`
	NumAttentionHeads     int             `json:"num_attention_heads"`
	NumKeyValueHeads      int             `json:"num_key_value_heads"`
	HeadDim               int             `json:"head_dim"`
	IntermediateSize      int             `json:"intermediate_size"`
	VocabSize             int             `json:"vocab_size"`
	MaxPositionEmbeddings int             `json:"max_position_embeddings"`
	RMSNormEps            float64         `json:"rms_norm_eps"`
	RopeTheta             float64         `json:"rope_theta"`
	RopeScaling           *RopeScaling    `json:"rope_scaling"`
	TieWordEmbeddings     bool            `json:"tie_word_embeddings"`
	SlidingWindow         *int            `json:"sliding_window"`
	UseSlidingWindow      bool            `json:"use_sliding_window"` // Qwen2Config: sliding_window applies only when set
	BOSTokenID            *int            `json:"bos_token_id"`
	EOSTokenID            json.RawMessage `json:"eos_token_id"`
	HiddenAct             string          `json:"hidden_act"`
	AttentionBias         bool            `json:"attention_bias"`
	MLPBias               bool            `json:"mlp_bias"`
	RopeInterleaved       bool            `json:"rope_interleaved"`
}

// ParseConfig reads config.json bytes; name is used in error messages.
func ParseConfig(name string, data []byte) (Config, error) {
	if bytes.HasPrefix(data, []byte("\uFEFF")) {
		return Config{}, fmt.Errorf("model: %s: starts with a UTF-8 byte order mark (bytes EF BB BF), which JSON does not allow: save the file without it", name)
	}
	var h hfConfig
	if err := json.Unmarshal(data, &h); err != nil {
		return Config{}, fmt.Errorf("model: %s: %w", name, err)
	}
	bad := func(field string, format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("model: %s: %s: %s", name, field, fmt.Sprintf(format, args...))
	}
	switch h.ModelType {
	case "llama", "mistral", "qwen2":
	case "":
		return bad("model_type", "missing (want \"llama\", \"mistral\" or \"qwen2\")")
	default:
		return bad("model_type", "%q is not supported (want \"llama\", \"mistral\" or \"qwen2\")", h.ModelType)
	}
	if h.HiddenAct != "" && h.HiddenAct != "silu" {
		return bad("hidden_act", "%q is not supported (want \"silu\")", h.HiddenAct)
	}
	if h.AttentionBias || h.MLPBias {
		return bad("attention_bias/mlp_bias", "bias terms are not supported")
	}
	if h.RopeInterleaved {
		return bad("rope_interleaved", "interleaved RoPE checkpoints are not supported (HF layout rotates split halves)")
	}
	c := Config{
		Arch: h.ModelType, Dim: h.HiddenSize, Layers: h.NumHiddenLayers, Heads: h.NumAttentionHeads,
		KVHeads: h.NumKeyValueHeads, HeadDim: h.HeadDim, FFN: h.IntermediateSize, Vocab: h.VocabSize,
		MaxPositions: h.MaxPositionEmbeddings, RMSEps: float32(h.RMSNormEps), RopeTheta: h.RopeTheta,
		RopeScaling: h.RopeScaling, TiedEmbeddings: h.TieWordEmbeddings, BOS: -1,
		QKVBias: h.ModelType == "qwen2", // Qwen2Config has no attention_bias: q/k/v always have biases, o never
	}
	for _, f := range []struct {
		field string
		v     int
		limit int
	}{{"hidden_size", c.Dim, 1 << 18}, {"num_hidden_layers", c.Layers, 1 << 12}, {"num_attention_heads", c.Heads, 1 << 12},
		{"intermediate_size", c.FFN, 1 << 20}, {"vocab_size", c.Vocab, 1 << 24}} {
		if f.v <= 0 || f.v > f.limit {
			return bad(f.field, "must be in 1..%d, got %d", f.limit, f.v)
		}
	}
	if c.HeadDim < 0 || c.HeadDim > 1<<12 || c.KVHeads > c.Heads {
		return bad("head_dim/num_key_value_heads", "head_dim %d must be in 0..4096 and num_key_value_heads %d at most num_attention_heads %d",
			c.HeadDim, c.KVHeads, c.Heads)
	}
	if c.MaxPositions < 0 || c.MaxPositions > 1<<22 {
		return bad("max_position_embeddings", "must be in 1..%d, got %d", 1<<22, c.MaxPositions)
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.KVHeads < 0 || c.Heads%c.KVHeads != 0 {
		return bad("num_key_value_heads", "%d does not divide num_attention_heads %d", c.KVHeads, c.Heads)
	}
	if c.HeadDim == 0 {
		if c.Dim%c.Heads != 0 {
			return bad("num_attention_heads", "%d does not divide hidden_size %d", c.Heads, c.Dim)
		}
		c.HeadDim = c.Dim / c.Heads
	}
	if c.HeadDim <= 0 || c.HeadDim%2 != 0 {
		return bad("head_dim", "must be positive and even, got %d", c.HeadDim)
	}
	if c.MaxPositions <= 0 {
		c.MaxPositions = 2048
	}
	if !(c.RMSEps > 0) || math.IsInf(float64(c.RMSEps), 0) {
		return bad("rms_norm_eps", "must be positive and finite in float32 (at most %g), got %g", math.MaxFloat32, h.RMSNormEps)
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = 10000
	}
	if c.RopeTheta <= 0 || math.IsInf(c.RopeTheta, 0) || math.IsNaN(c.RopeTheta) {
		return bad("rope_theta", "must be positive, got %g", c.RopeTheta)
	}
	if s := c.RopeScaling; s != nil {
		if s.Type == "" {
			s.Type = s.LegacyType
		}
		switch s.Type {
		case "linear":
			if s.Factor <= 0 {
				return bad("rope_scaling.factor", "must be positive, got %g", s.Factor)
			}
		case "llama3":
			if s.Factor <= 0 || s.LowFreqFactor <= 0 || s.HighFreqFactor <= s.LowFreqFactor || s.OriginalMaxPositionEmbeddings <= 0 {
				return bad("rope_scaling", "llama3 needs factor > 0, 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0")
			}
		default:
			return bad("rope_scaling.rope_type", "%q is not supported (want \"linear\" or \"llama3\")", s.Type)
		}
	}
	if h.ModelType == "qwen2" && h.UseSlidingWindow {
		return bad("use_sliding_window", "Qwen2's per-layer sliding window (layers from max_window_layers on) is not supported")
	}
	if h.SlidingWindow != nil && *h.SlidingWindow > 0 && h.ModelType != "qwen2" {
		c.SlidingWindow = *h.SlidingWindow
	}
	if h.BOSTokenID != nil {
		c.BOS = *h.BOSTokenID
	}
	if len(h.EOSTokenID) > 0 && string(h.EOSTokenID) != "null" {
		var one int
		if err := json.Unmarshal(h.EOSTokenID, &one); err == nil {
			c.EOS = []int{one}
		} else if err := json.Unmarshal(h.EOSTokenID, &c.EOS); err != nil {
			return bad("eos_token_id", "want an integer or a list of integers")
		}
	}
	return c, nil
}

// KVDim is the width of one token's keys (or values) over all KV heads.
func (c Config) KVDim() int { return c.KVHeads * c.HeadDim }

// QDim is the width of one token's queries over all heads.
func (c Config) QDim() int { return c.Heads * c.HeadDim }

// MaxContext is the longest sequence the model runs: the position limit. A
// sliding window (Mistral) does not shorten it: each query attends to the
// last SlidingWindow positions only (attention.Engine.SetSlidingWindow), and
// the KV cache keeps the whole sequence.
func (c Config) MaxContext() int { return c.MaxPositions }

// ropeFrequencies returns the HeadDim/2 inverse frequencies θ_i of RoPE,
// after rope_scaling.
func (c Config) ropeFrequencies() []float64 {
	half := c.HeadDim / 2
	freq := make([]float64, half)
	for i := range half {
		freq[i] = math.Pow(c.RopeTheta, -2*float64(i)/float64(c.HeadDim))
	}
	s := c.RopeScaling
	if s == nil {
		return freq
	}
	switch s.Type {
	case "linear":
		for i := range freq {
			freq[i] /= s.Factor
		}
	case "llama3":
		old := float64(s.OriginalMaxPositionEmbeddings)
		lowWavelen, highWavelen := old/s.LowFreqFactor, old/s.HighFreqFactor
		for i, f := range freq {
			wavelen := 2 * math.Pi / f
			switch {
			case wavelen < highWavelen:
			case wavelen > lowWavelen:
				freq[i] = f / s.Factor
			default:
				smooth := (old/wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor)
				freq[i] = (1-smooth)*f/s.Factor + smooth*f
			}
		}
	}
	return freq
}
