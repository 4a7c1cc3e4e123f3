package model

import (
	"math"
	"testing"
)

// FuzzParseConfig: any config.json either parses into a Config whose
// derived sizes are consistent, or fails with an error; never a panic.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(smolConfig))
	f.Add([]byte(`{"model_type":"mistral","hidden_size":4096,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,"intermediate_size":14336,"vocab_size":32000,"rms_norm_eps":1e-5,"sliding_window":4096}`))
	f.Add([]byte(`{"model_type":"llama","hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":4,"vocab_size":3,"rms_norm_eps":1e-6,"rope_scaling":{"rope_type":"llama3","factor":8,"low_freq_factor":1,"high_freq_factor":4,"original_max_position_embeddings":8192}}`))
	f.Add([]byte(`{"model_type":"llama","num_attention_heads":0}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("config.json", data)
		if err != nil {
			return
		}
		if c.Heads%c.KVHeads != 0 || c.HeadDim <= 0 || c.HeadDim%2 != 0 || c.MaxContext() <= 0 {
			t.Fatalf("inconsistent config accepted: %+v", c)
		}
		if !(c.RMSEps > 0) || math.IsInf(float64(c.RMSEps), 0) {
			t.Fatalf("rms_norm_eps %g accepted", c.RMSEps)
		}
		if len(c.ropeFrequencies()) != c.HeadDim/2 {
			t.Fatalf("RoPE table of %d frequencies for head dim %d", len(c.ropeFrequencies()), c.HeadDim)
		}
	})
}
