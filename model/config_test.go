package model

import (
	"math"
	"strings"
	"testing"
)

const smolConfig = `{"architectures":["LlamaForCausalLM"],"bos_token_id":1,"eos_token_id":2,"hidden_act":"silu",
"hidden_size":576,"intermediate_size":1536,"max_position_embeddings":8192,"model_type":"llama",
"num_attention_heads":9,"num_hidden_layers":30,"num_key_value_heads":3,"rms_norm_eps":1e-05,
"rope_scaling":null,"rope_theta":100000,"tie_word_embeddings":true,"vocab_size":49152}`

func TestParseConfigSmolLM2(t *testing.T) {
	c, err := ParseConfig("config.json", []byte(smolConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.HeadDim != 64 || c.KVDim() != 192 || c.QDim() != 576 || !c.TiedEmbeddings || c.RopeTheta != 100000 ||
		c.BOS != 1 || len(c.EOS) != 1 || c.EOS[0] != 2 || c.MaxContext() != 8192 {
		t.Errorf("derived config wrong: %+v", c)
	}
}

func TestParseConfigErrorsNameTheField(t *testing.T) {
	edit := func(old, new string) string { return strings.Replace(smolConfig, old, new, 1) }
	cases := []struct {
		name, json, field string
	}{
		{"heads not dividing", edit(`"num_key_value_heads":3`, `"num_key_value_heads":4`), "num_key_value_heads"},
		{"width not dividing", edit(`"num_attention_heads":9`, `"num_attention_heads":7,"num_key_value_heads":7`), "num_attention_heads"},
		{"unknown model type", edit(`"model_type":"llama"`, `"model_type":"gpt2"`), "model_type"},
		{"missing model type", edit(`"model_type":"llama",`, ``), "model_type"},
		{"zero layers", edit(`"num_hidden_layers":30`, `"num_hidden_layers":0`), "num_hidden_layers"},
		{"negative eps", edit(`"rms_norm_eps":1e-05`, `"rms_norm_eps":-1`), "rms_norm_eps"},
		{"eps infinite in float32", edit(`"rms_norm_eps":1e-05`, `"rms_norm_eps":1e300`), "rms_norm_eps: must be positive and finite in float32"},
		{"eps underflowing float32", edit(`"rms_norm_eps":1e-05`, `"rms_norm_eps":1e-300`), "rms_norm_eps: must be positive"},
		{"layers 2^40", edit(`"num_hidden_layers":30`, `"num_hidden_layers":1099511627776`), "num_hidden_layers: must be in 1..4096"},
		{"unknown rope scaling", edit(`"rope_scaling":null`, `"rope_scaling":{"rope_type":"yarn","factor":4}`), "rope_scaling"},
		{"gelu", edit(`"hidden_act":"silu"`, `"hidden_act":"gelu"`), "hidden_act"},
		{"not json", `{"model_type":`, "config.json"},
		{"byte order mark", "\uFEFF" + smolConfig, "byte order mark"},
		{"eos as string", edit(`"eos_token_id":2`, `"eos_token_id":"x"`), "eos_token_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("config.json", []byte(tc.json))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), "config.json") {
				t.Errorf("error %q does not name config.json and %s", err, tc.field)
			}
		})
	}
}

// Llama 3.1's rope_scaling (factor 8, low 1, high 4, original 8192) keeps
// high frequencies, divides low ones by the factor and blends in between.
func TestLlama3RopeScaling(t *testing.T) {
	c := Config{HeadDim: 128, RopeTheta: 500000, RopeScaling: &RopeScaling{Type: "llama3", Factor: 8,
		LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192}}
	scaled := c.ropeFrequencies()
	c.RopeScaling = nil
	plain := c.ropeFrequencies()
	for i := range plain {
		wavelen := 2 * math.Pi / plain[i]
		switch {
		case wavelen < 8192.0/4:
			if scaled[i] != plain[i] {
				t.Errorf("freq %d (wavelength %.0f) changed: %g → %g", i, wavelen, plain[i], scaled[i])
			}
		case wavelen > 8192.0/1:
			if math.Abs(scaled[i]-plain[i]/8) > 1e-15 {
				t.Errorf("freq %d (wavelength %.0f) = %g, want %g", i, wavelen, scaled[i], plain[i]/8)
			}
		default:
			if !(scaled[i] < plain[i] && scaled[i] > plain[i]/8) {
				t.Errorf("freq %d (wavelength %.0f) = %g not between %g and %g", i, wavelen, scaled[i], plain[i]/8, plain[i])
			}
		}
	}
}

// Qwen2.5-Coder-0.5B-Instruct's config.json as HF ships it: Qwen2Config has
// no attention_bias (q/k/v always have biases) and a sliding_window that
// applies only with use_sliding_window.
const qwen2Config = `{"architectures":["Qwen2ForCausalLM"],"attention_dropout":0.0,"bos_token_id":151643,
"eos_token_id":151645,"hidden_act":"silu","hidden_size":896,"initializer_range":0.02,"intermediate_size":4864,
"max_position_embeddings":32768,"max_window_layers":24,"model_type":"qwen2","num_attention_heads":14,
"num_hidden_layers":24,"num_key_value_heads":2,"rms_norm_eps":1e-06,"rope_theta":1000000.0,"sliding_window":32768,
"tie_word_embeddings":true,"torch_dtype":"bfloat16","use_cache":true,"use_sliding_window":false,"vocab_size":151936}`

func TestParseConfigQwen2(t *testing.T) {
	c, err := ParseConfig("config.json", []byte(qwen2Config))
	if err != nil {
		t.Fatal(err)
	}
	if c.Arch != "qwen2" || !c.QKVBias || c.HeadDim != 64 || c.KVDim() != 128 || c.SlidingWindow != 0 ||
		c.MaxContext() != 32768 || c.RopeTheta != 1e6 || c.BOS != 151643 || len(c.EOS) != 1 || c.EOS[0] != 151645 {
		t.Errorf("derived config wrong: %+v", c)
	}
	llama, err := ParseConfig("config.json", []byte(smolConfig))
	if err != nil || llama.QKVBias {
		t.Errorf("a llama config has QKVBias %v (err %v)", llama.QKVBias, err)
	}
	on := strings.Replace(qwen2Config, `"use_sliding_window":false`, `"use_sliding_window":true`, 1)
	if _, err := ParseConfig("config.json", []byte(on)); err == nil || !strings.Contains(err.Error(), "use_sliding_window") {
		t.Errorf("use_sliding_window true: err = %v, want one naming use_sliding_window", err)
	}
}
