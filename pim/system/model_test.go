package system

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestModelPresets(t *testing.T) {
	// AttAcc's model table (attacc.md §3.1): [ndec, hdim, nheads, dhead, ff_scale];
	// KV heads, FFN width and vocabulary from the HF checkpoints.
	tests := []struct {
		name                                        string
		layers, hidden, heads, kv, hdim, ffn, vocab int
		ffScale                                     float64
		gated                                       bool
	}{
		{"mistral-7b", 32, 4096, 32, 8, 128, 14336, 32000, 3.5, false},
		{"llama-7b", 32, 4096, 32, 32, 128, 11008, 32000, 8.0 / 3.0, true},
		{"llama-3.1-8b", 32, 4096, 32, 8, 128, 14336, 128256, 3.5, true},
		// The STARC artifact's simulator_starc/src/config.py: GPT-13B = [40, 5120, 40, 128, 4, 1].
		{"gpt-13b", 40, 5120, 40, 40, 128, 4 * 5120, 0, 4, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ModelByName(strings.ToUpper(tc.name))
			if err != nil {
				t.Fatal(err)
			}
			got := [7]int{m.Layers, m.Hidden, m.Heads, m.KVHeads, m.HeadDim, m.Intermediate, m.Vocab}
			want := [7]int{tc.layers, tc.hidden, tc.heads, tc.kv, tc.hdim, tc.ffn, tc.vocab}
			if got != want || m.AttAccFFScale != tc.ffScale || m.AttAccGatedFFN != tc.gated || m.GELUFFN != (tc.name == "gpt-13b") {
				t.Errorf("got %+v", m)
			}
		})
	}
	if got := strings.Join(ModelNames(), ","); got != "gpt-13b,llama-3.1-8b,llama-7b,mistral-7b" {
		t.Errorf("ModelNames = %s", got)
	}
}

func TestUnknownModelListsValidNames(t *testing.T) {
	_, err := LookupModel("gpt-5")
	if err == nil {
		t.Fatal("no error")
	}
	for _, n := range ModelNames() {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not list %s", err, n)
		}
	}
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestModelFromHFConfig(t *testing.T) {
	t.Run("llama-3.1-8b fields", func(t *testing.T) {
		p := writeFile(t, "config.json", `{"model_type":"llama","hidden_size":4096,"num_hidden_layers":32,
			"num_attention_heads":32,"num_key_value_heads":8,"intermediate_size":14336,"vocab_size":128256,"head_dim":128}`)
		m, err := LookupModel(p)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ModelByName("llama-3.1-8b")
		want.Name = p
		if m != want {
			t.Errorf("got %+v\nwant %+v", m, want)
		}
	})
	t.Run("defaults: kv heads = heads, head dim = hidden/heads", func(t *testing.T) {
		p := writeFile(t, "c.json", `{"model_type":"mistral","hidden_size":64,"num_hidden_layers":2,
			"num_attention_heads":4,"intermediate_size":128,"vocab_size":10}`)
		m, err := ModelFromHFConfig(p)
		if err != nil {
			t.Fatal(err)
		}
		if m.KVHeads != 4 || m.HeadDim != 16 || m.AttAccGatedFFN || m.AttAccFFScale != 2 {
			t.Errorf("got %+v", m)
		}
	})
	t.Run("shared smollm2 config", func(t *testing.T) {
		m, err := ModelFromHFConfig(needShared(t, "models/smollm2-135m-instruct/config.json"))
		if err != nil {
			t.Fatal(err)
		}
		if m.Layers != 30 || m.Hidden != 576 || m.Heads != 9 || m.KVHeads != 3 || m.HeadDim != 64 || m.Intermediate != 1536 || m.Vocab != 49152 {
			t.Errorf("got %+v", m)
		}
	})
	errs := []struct{ name, body, want string }{
		{"missing field", `{"hidden_size":64,"num_attention_heads":4,"intermediate_size":8,"vocab_size":10}`, `field "num_hidden_layers": missing`},
		{"zero field", `{"hidden_size":0,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":8,"vocab_size":10}`, `field "hidden_size": must be in 1..262144, got 0`},
		{"layers past any model", `{"hidden_size":64,"num_hidden_layers":1099511627776,"num_attention_heads":4,"intermediate_size":8,"vocab_size":10}`, `field "num_hidden_layers": must be in 1..4096, got 1099511627776`},
		{"intermediate past any model", `{"hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":9223372036854775807,"vocab_size":10}`, `field "intermediate_size": must be in 1..1048576, got 9223372036854775807`},
		{"hidden 2^62", `{"hidden_size":4611686018427387904,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":8,"vocab_size":10}`, `field "hidden_size": must be in 1..262144`},
		{"head dim past any model", `{"hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,"head_dim":1048576,"intermediate_size":8,"vocab_size":10}`, `field "head_dim": must be in 1..4096`},
		{"wrong type", `{"hidden_size":"big"}`, "hidden_size"},
		{"not json", `hidden_size: 4`, "invalid character"},
		{"heads not a multiple of kv heads", `{"hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":3,"intermediate_size":8,"vocab_size":10}`, "not a multiple"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, "config.json", tc.body)
			_, err := ModelFromHFConfig(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("err = %v, want one naming %s and containing %q", err, p, tc.want)
			}
		})
	}
	if _, err := ModelFromHFConfig(filepath.Join(t.TempDir(), "none.json")); err == nil {
		t.Error("missing file: no error")
	}
}
