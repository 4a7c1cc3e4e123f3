package model_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"starc/model"
	"starc/weights"
)

// tinyModel describes a small synthetic checkpoint: a 2-layer decoder of
// width 8 (2 heads of 4, 1 KV head, FFN 16, vocab 32) with deterministic
// small weights, a config that can be edited and values that can be poisoned.
type tinyModel struct {
	layers       int                // tensors written (default 2)
	configLayers int                // num_hidden_layers (default layers)
	maxPositions int                // max_position_embeddings (default 64)
	poison       map[string]float32 // tensor name → value written at its element 0
}

func (tm tinyModel) write(t *testing.T) string {
	t.Helper()
	if tm.layers == 0 {
		tm.layers = 2
	}
	if tm.configLayers == 0 {
		tm.configLayers = tm.layers
	}
	if tm.maxPositions == 0 {
		tm.maxPositions = 64
	}
	dir := t.TempDir()
	config := fmt.Sprintf(`{"model_type":"llama","hidden_size":8,"num_hidden_layers":%d,"num_attention_heads":2,
"num_key_value_heads":1,"intermediate_size":16,"vocab_size":32,"rms_norm_eps":1e-5,"max_position_embeddings":%d,
"tie_word_embeddings":true}`, tm.configLayers, tm.maxPositions)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	shapes := map[string][]int{"model.embed_tokens.weight": {32, 8}, "model.norm.weight": {8}}
	for l := range tm.layers {
		p := fmt.Sprintf("model.layers.%d.", l)
		for name, shape := range map[string][]int{
			"input_layernorm.weight": {8}, "post_attention_layernorm.weight": {8},
			"self_attn.q_proj.weight": {8, 8}, "self_attn.k_proj.weight": {4, 8}, "self_attn.v_proj.weight": {4, 8},
			"self_attn.o_proj.weight": {8, 8}, "mlp.gate_proj.weight": {16, 8}, "mlp.up_proj.weight": {16, 8},
			"mlp.down_proj.weight": {8, 16},
		} {
			shapes[p+name] = shape
		}
	}
	var tensors []weights.Tensor
	seed := 0
	for _, name := range slices.Sorted(maps.Keys(shapes)) {
		shape := shapes[name]
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]byte, 4*n)
		for i := range n {
			seed++
			v := float32(0.3 * math.Sin(float64(seed)*0.7))
			if len(shape) == 1 {
				v = 1 // norm weights
			}
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
		}
		if v, ok := tm.poison[name]; ok {
			binary.LittleEndian.PutUint32(data, math.Float32bits(v))
		}
		tensors = append(tensors, weights.Tensor{Name: name, DType: weights.F32, Shape: shape, Data: data})
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

func (tm tinyModel) load(t *testing.T) (*model.Model, error) {
	t.Helper()
	ckpt, err := weights.OpenCheckpoint(tm.write(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ckpt.Close() })
	return model.Load(ckpt)
}

func (tm tinyModel) mustLoad(t *testing.T) *model.Model {
	t.Helper()
	m, err := tm.load(t)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A NaN or an infinity in the weights is reported where it first reaches
// the residual stream or the logits, by Forward and by Prefill alike.
func TestNonFiniteNamesLayerAndPosition(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tests := []struct {
		name   string
		poison map[string]float32
		token  int    // the poisoned embedding row is token 0
		want   string // where
	}{
		// Prefill computes the logits of its last token only (position 1).
		{"NaN in layer 1's down projection", map[string]float32{"model.layers.1.mlp.down_proj.weight": nan}, 5, "the MLP block of layer 1 at position 0 (token 5)"},
		{"Inf in layer 0's output projection", map[string]float32{"model.layers.0.self_attn.o_proj.weight": inf}, 5, "the attention block of layer 0 at position 0 (token 5)"},
		{"NaN in the value projection", map[string]float32{"model.layers.1.self_attn.v_proj.weight": nan}, 5, "the attention block of layer 1 at position 0 (token 5)"},
		{"NaN in token 0's embedding", map[string]float32{"model.embed_tokens.weight": nan}, 0, "the embedding at position 0 (token 0)"},
		{"Inf in the final norm", map[string]float32{"model.norm.weight": inf}, 5, "the logits (final norm or LM head) at position %d (token %d)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tinyModel{poison: tc.poison}.mustLoad(t)
			for _, path := range []string{"forward", "prefill"} {
				st, err := model.NewState(m, model.StateOptions{MaxTokens: 8})
				if err != nil {
					t.Fatal(err)
				}
				if path == "forward" {
					_, err = m.Forward(st, tc.token)
				} else {
					_, err = m.Prefill(st, []int{tc.token, 3})
				}
				st.Close()
				want := tc.want
				if strings.Contains(want, "%d") {
					want = fmt.Sprintf(want, 0, 5)
					if path == "prefill" {
						want = fmt.Sprintf(tc.want, 1, 3)
					}
				}
				if !errors.Is(err, model.ErrNonFinite) || !strings.Contains(err.Error(), want) {
					t.Errorf("%s: err = %v, want ErrNonFinite naming %q", path, err, want)
				}
			}
		})
	}
}

// The first poisoned position of a prefill is the one named: token 0 at
// index 2 of the prompt.
func TestPrefillNamesFirstNonFinitePosition(t *testing.T) {
	m := tinyModel{poison: map[string]float32{"model.embed_tokens.weight": float32(math.NaN())}}.mustLoad(t)
	st, err := model.NewState(m, model.StateOptions{MaxTokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = m.PrefillEach(st, []int{4, 7, 0, 0}, 0, func(int, []float32) {})
	if !errors.Is(err, model.ErrNonFinite) || !strings.Contains(err.Error(), "the embedding at position 2 (token 0)") {
		t.Fatalf("err = %v, want ErrNonFinite at position 2", err)
	}
}

// A config claiming 4M positions must not make a short run pay for 4M
// RoPE rows: the tables follow the states' capacities, and two states of
// different capacities sharing one model agree with a model that only ever
// served one.
func TestRoPETablesFollowStateCapacity(t *testing.T) {
	huge := tinyModel{maxPositions: 1 << 22}
	m := huge.mustLoad(t)
	if m.Config.MaxContext() != 1<<22 {
		t.Fatalf("MaxContext %d", m.Config.MaxContext())
	}
	logitsOf := func(m *model.Model, capacity int, ids []int) []float32 {
		st, err := model.NewState(m, model.StateOptions{MaxTokens: capacity})
		if err != nil {
			t.Error(err)
			return nil
		}
		defer st.Close()
		var out []float32
		for _, id := range ids {
			l, err := m.Forward(st, id)
			if err != nil {
				t.Error(err)
				return nil
			}
			out = append(out, l...)
		}
		return out
	}
	ids := []int{1, 9, 17, 4, 30, 2}
	want := logitsOf(tinyModel{}.mustLoad(t), 64, ids)
	var wg sync.WaitGroup
	got := make([][]float32, 4)
	for i, capacity := range []int{6, 1000, 40, 5000} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = logitsOf(m, capacity, ids)
		}()
	}
	wg.Wait()
	for i := range got {
		if len(got[i]) != len(want) {
			t.Fatalf("state %d: %d logits, want %d", i, len(got[i]), len(want))
		}
		for j := range want {
			if got[i][j] != want[j] {
				t.Fatalf("state %d: logit %d = %g, want %g (same weights, max_position_embeddings 64)", i, j, got[i][j], want[j])
			}
		}
	}
	if rows := model.RoPERows(m); rows > 2*5000 {
		t.Errorf("RoPE tables cover %d positions for states of at most 5000", rows)
	}
}

func TestPrefillContextStops(t *testing.T) {
	m := tinyModel{}.mustLoad(t)
	st, err := model.NewState(m, model.StateOptions{MaxTokens: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.PrefillContext(ctx, st, []int{1, 2, 3}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestLoadRefusesLayersBeyondConfig(t *testing.T) {
	_, err := tinyModel{layers: 3, configLayers: 2}.load(t)
	if err == nil || !strings.Contains(err.Error(), "num_hidden_layers is 2") || !strings.Contains(err.Error(), `"model.layers.2.`) {
		t.Fatalf("err = %v, want one naming num_hidden_layers and a layer-2 tensor", err)
	}
}

// A checkpoint truncated under a loaded model turns the next weight access
// (SIGBUS on the lost mmap pages) into ErrWeightsFault, for Forward and for
// Prefill, on one thread and on several.
func TestTruncatedWeightsAreAnError(t *testing.T) {
	for _, threads := range []int{1, 2} {
		for _, path := range []string{"forward", "prefill"} {
			dir := tinyModel{}.write(t)
			ckpt, err := weights.OpenCheckpoint(dir)
			if err != nil {
				t.Fatal(err)
			}
			m, err := model.Load(ckpt)
			if err != nil {
				t.Fatal(err)
			}
			st, err := model.NewState(m, model.StateOptions{MaxTokens: 8, Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(filepath.Join(dir, "model.safetensors"), 0); err != nil {
				t.Fatal(err)
			}
			if path == "forward" {
				_, err = m.Forward(st, 3)
			} else {
				_, err = m.Prefill(st, []int{3, 4, 5})
			}
			if !errors.Is(err, model.ErrWeightsFault) {
				t.Errorf("%d threads, %s: err = %v, want ErrWeightsFault", threads, path, err)
			}
			st.Close()
			ckpt.Close()
		}
	}
}

// Truncated between opening the checkpoint and building the model: the
// norm vectors Load copies out of the mapping fault, and Load says so.
func TestLoadOfTruncatedWeightsIsAnError(t *testing.T) {
	dir := tinyModel{}.write(t)
	ckpt, err := weights.OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ckpt.Close()
	if err := os.Truncate(filepath.Join(dir, "model.safetensors"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := model.Load(ckpt); !errors.Is(err, model.ErrWeightsFault) {
		t.Fatalf("err = %v, want ErrWeightsFault", err)
	}
}
