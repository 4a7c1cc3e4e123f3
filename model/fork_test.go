package model_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"starc/attention"
	"starc/internal/testenv"
	"starc/model"
	"starc/model/kernels"
	"starc/pim"
	"starc/tokenizer"
	"starc/weights"
)

// forkModel is a model, the prompt a fork test prefills and the KV store
// its cells use ("dense" or "pim").
type forkModel struct {
	m      *model.Model
	prompt []int
	store  string
}

const (
	forkCapacity    = 256
	forkPromptLen   = 150 // STARC clusters 3 windows at the first decode step
	forkDecode      = 70  // past STARC's first recluster (64 buffered tokens)
	forkDenseLayers = 1
)

// forkModels returns stories260K (head dim 8: too narrow for the device)
// over a dense store, prefilling the start of the shared Shakespeare text,
// and a random 2-layer model of head dim 64 over the PIM device.
func forkModels(t *testing.T) []forkModel {
	m, tok := stories(t)
	text, err := os.ReadFile(testenv.Shared(t, "data/tinyshakespeare_first20000.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode(string(text[:4000]), tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if len(ids) < forkPromptLen {
		t.Fatalf("%d prompt tokens, want %d", len(ids), forkPromptLen)
	}
	wide := randomModel(t)
	rng := rand.New(rand.NewPCG(3, 3))
	wideIDs := make([]int, forkPromptLen)
	for i := range wideIDs {
		wideIDs[i] = rng.IntN(wide.Config.Vocab)
	}
	return []forkModel{{m, ids[:forkPromptLen], "dense"}, {wide, wideIDs, "pim"}}
}

var (
	randomOnce sync.Once
	randomDir  string
	randomErr  error
)

// randomModel writes and loads a 2-layer Llama of width 128 (2 heads of
// 64, 1 KV head, FFN 256, vocabulary 96) with seeded Gaussian weights: the
// smallest shape whose FP16 K/V vectors fill the device's bank-group
// columns.
func randomModel(t *testing.T) *model.Model {
	t.Helper()
	randomOnce.Do(func() { randomDir, randomErr = writeRandomCheckpoint() })
	if randomErr != nil {
		t.Fatalf("write random checkpoint: %v", randomErr)
	}
	ckpt, err := weights.OpenCheckpoint(randomDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ckpt.Close() })
	m, err := model.Load(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func writeRandomCheckpoint() (string, error) {
	if tempRoot == "" {
		var err error
		if tempRoot, err = os.MkdirTemp("", "starc-model-test-"); err != nil {
			return "", err
		}
	}
	dir := filepath.Join(tempRoot, "random-hd64")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	const dim, ffn, vocab, layers = 128, 256, 96, 2
	config := fmt.Sprintf(`{"model_type":"llama","hidden_size":%d,"num_hidden_layers":%d,"num_attention_heads":2,
"num_key_value_heads":1,"intermediate_size":%d,"vocab_size":%d,"rms_norm_eps":1e-5,"max_position_embeddings":512,
"rope_theta":10000,"tie_word_embeddings":true}`, dim, layers, ffn, vocab)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644); err != nil {
		return "", err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	tensor := func(name string, scale float64, shape ...int) weights.Tensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]byte, 4*n)
		for i := range n {
			v := float32(1)
			if scale > 0 {
				v = float32(rng.NormFloat64() * scale)
			}
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
		}
		return weights.Tensor{Name: name, DType: weights.F32, Shape: shape, Data: data}
	}
	ts := []weights.Tensor{tensor("model.embed_tokens.weight", 1, vocab, dim), tensor("model.norm.weight", 0, dim)}
	for l := range layers {
		p := fmt.Sprintf("model.layers.%d.", l)
		ts = append(ts,
			tensor(p+"input_layernorm.weight", 0, dim), tensor(p+"post_attention_layernorm.weight", 0, dim),
			tensor(p+"self_attn.q_proj.weight", 0.3, dim, dim), tensor(p+"self_attn.k_proj.weight", 0.3, 64, dim),
			tensor(p+"self_attn.v_proj.weight", 0.1, 64, dim), tensor(p+"self_attn.o_proj.weight", 0.1, dim, dim),
			tensor(p+"mlp.gate_proj.weight", 0.1, ffn, dim), tensor(p+"mlp.up_proj.weight", 0.1, ffn, dim),
			tensor(p+"mlp.down_proj.weight", 0.1, dim, ffn))
	}
	f, err := os.Create(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return "", err
	}
	if err := weights.WriteSafetensors(f, ts, nil); err != nil {
		f.Close()
		return "", err
	}
	return dir, f.Close()
}

// newForkState builds a state of fm's store kind with the named method.
func newForkState(t testing.TB, fm forkModel, method string, budget, denseLayers int, forkable bool) *model.State {
	t.Helper()
	st := newMethodState(t, fm.m, fm.store, forkCapacity, 2, method, budget, denseLayers, forkable)
	t.Cleanup(st.Close)
	return st
}

// newMethodState builds a state of m with the named method and budget, its
// KV cache on the host ("dense") or in the device ("pim", GQA layout). The
// caller closes it.
func newMethodState(t testing.TB, m *model.Model, kv string, capacity, threads int, method string, budget, denseLayers int, forkable bool) *model.State {
	t.Helper()
	c := m.AttentionConfig(capacity)
	c.Budget, c.DenseLayers = budget, denseLayers
	meth, err := attention.New(method, c)
	if err != nil {
		t.Fatal(err)
	}
	opt := model.StateOptions{MaxTokens: capacity, Threads: threads, Method: meth, DenseLayers: denseLayers, Forkable: forkable}
	if kv == "pim" {
		if opt.Store, err = attention.NewPIM(pim.HBM3PIM(true), c, pim.LayoutGQA); err != nil {
			t.Fatal(err)
		}
	}
	st, err := model.NewState(m, opt)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// prefillAndSnapshot prefills fm's prompt into a forkable full-attention
// state without dense layers and snapshots it.
func prefillAndSnapshot(t *testing.T, fm forkModel) (*model.State, *model.Snapshot) {
	t.Helper()
	src := newForkState(t, fm, "full", 0, 0, true)
	if _, err := fm.m.Prefill(src, fm.prompt); err != nil {
		t.Fatal(err)
	}
	snap, err := src.Snapshot(nil)
	if err != nil {
		t.Fatal(err)
	}
	return src, snap
}

// greedy decodes forkDecode tokens from logits and returns a copy of the
// logits before each choice and the chosen tokens.
func greedy(t *testing.T, m *model.Model, st *model.State, logits []float32) (rows [][]float32, ids []int) {
	t.Helper()
	for range forkDecode {
		rows = append(rows, slices.Clone(logits))
		id := kernels.Argmax(logits)
		ids = append(ids, id)
		var err error
		if logits, err = m.Forward(st, id); err != nil {
			t.Fatal(err)
		}
	}
	return rows, ids
}

func sameLogits(t *testing.T, what string, got, want [][]float32) {
	t.Helper()
	for i := range want {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("%s: step %d logit %d = %v, re-prefilled %v", what, i, j, got[i][j], want[i][j])
			}
		}
	}
}

// A cell restored from a full-attention prefill decodes exactly as a state
// of the cell's method that prefilled the prompt itself: the same logits,
// bit for bit, at every one of 70 greedy steps (STARC's clustering at the
// first step and its recluster after 64 included), the same tokens, and
// with the KV cache in the device the same hardware report per step.
// Restoring again into the cell after it decoded gives the same run again.
func TestForkEqualsPrefill(t *testing.T) {
	for _, fm := range forkModels(t) {
		_, snap := prefillAndSnapshot(t, fm)
		fullRows, _ := func() ([][]float32, []int) {
			st := newForkState(t, fm, "full", 0, forkDenseLayers, false)
			logits, err := fm.m.Prefill(st, fm.prompt)
			if err != nil {
				t.Fatal(err)
			}
			return greedy(t, fm.m, st, logits)
		}()
		for _, method := range attention.Names() {
			for _, budget := range []int{8, 32} {
				t.Run(fmt.Sprintf("%s/%s/budget%d", fm.store, method, budget), func(t *testing.T) {
					ref := newForkState(t, fm, method, budget, forkDenseLayers, false)
					logits, err := fm.m.Prefill(ref, fm.prompt)
					if err != nil {
						t.Fatal(err)
					}
					wantHW := deviceReport(ref)
					want, wantIDs := greedy(t, fm.m, ref, logits)
					wantHW = append(wantHW, deviceReport(ref)...)
					if method != "full" && slices.EqualFunc(want, fullRows, slices.Equal) {
						t.Fatalf("budget %d changes no logit: the test could not tell a wrong fork", budget)
					}
					cell := newForkState(t, fm, method, budget, forkDenseLayers, false)
					for try := 1; try <= 2; try++ {
						logits, err := cell.Restore(snap)
						if err != nil {
							t.Fatal(err)
						}
						if cell.Pos() != len(fm.prompt) {
							t.Fatalf("restored position %d, want %d", cell.Pos(), len(fm.prompt))
						}
						gotHW := deviceReport(cell)
						got, gotIDs := greedy(t, fm.m, cell, logits)
						gotHW = append(gotHW, deviceReport(cell)...)
						sameLogits(t, fmt.Sprintf("restore %d", try), got, want)
						if !slices.Equal(gotIDs, wantIDs) {
							t.Fatalf("restore %d: tokens %v, re-prefilled %v", try, gotIDs, wantIDs)
						}
						if !reflect.DeepEqual(gotHW, wantHW) {
							t.Fatalf("restore %d: device reports\n got %+v\nwant %+v", try, gotHW, wantHW)
						}
					}
				})
			}
		}
	}
}

// deviceReport closes the open step of a PIM store and returns it with the
// total so far (nothing for a dense store).
func deviceReport(st *model.State) []pim.StepReport {
	dev, ok := pimOf(st)
	if !ok {
		return nil
	}
	return []pim.StepReport{dev.EndStep(), dev.Device().Total()}
}

func pimOf(st *model.State) (*attention.PIM, bool) {
	p, ok := st.Store().(*attention.PIM)
	return p, ok
}

// Forks share nothing: two cells restored from one snapshot and decoded
// token by token in turn give what one of them gives alone, and the
// snapshot afterwards equals a second snapshot of the same prefill. A
// snapshot buffer reused for another prompt and then for this one again
// equals a fresh snapshot.
func TestForksDoNotInterfere(t *testing.T) {
	for _, fm := range forkModels(t) {
		t.Run(fm.store, func(t *testing.T) {
			src, snap := prefillAndSnapshot(t, fm)
			pristine, err := src.Snapshot(nil)
			if err != nil {
				t.Fatal(err)
			}
			alone := newForkState(t, fm, "starc", 32, forkDenseLayers, false)
			logits, err := alone.Restore(snap)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := greedy(t, fm.m, alone, logits)

			a := newForkState(t, fm, "starc", 32, forkDenseLayers, false)
			b := newForkState(t, fm, "quest", 8, forkDenseLayers, false)
			la, err := a.Restore(snap)
			if err != nil {
				t.Fatal(err)
			}
			lb, err := b.Restore(snap)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]float32
			for range forkDecode {
				got = append(got, slices.Clone(la))
				if la, err = fm.m.Forward(a, kernels.Argmax(la)); err != nil {
					t.Fatal(err)
				}
				if lb, err = fm.m.Forward(b, kernels.Argmax(lb)); err != nil {
					t.Fatal(err)
				}
			}
			sameLogits(t, "starc decoded beside quest", got, want)
			if !reflect.DeepEqual(snap, pristine) {
				t.Fatal("the snapshot changed while its forks decoded")
			}

			// Reuse: snapshot another prompt into the buffer, then this one again.
			src.Reset()
			if _, err := fm.m.Prefill(src, fm.prompt[:forkPromptLen/2]); err != nil {
				t.Fatal(err)
			}
			if _, err := src.Snapshot(snap); err != nil {
				t.Fatal(err)
			}
			if snap.Pos() != forkPromptLen/2 {
				t.Fatalf("reused snapshot at position %d, want %d", snap.Pos(), forkPromptLen/2)
			}
			src.Reset()
			if _, err := fm.m.Prefill(src, fm.prompt); err != nil {
				t.Fatal(err)
			}
			if _, err := src.Snapshot(snap); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(snap, pristine) {
				t.Fatal("a snapshot into a reused buffer differs from a fresh one")
			}
		})
	}
}

// Restoring into a state that already held the prefill allocates nothing,
// and the decode steps after a restore allocate nothing either, for every
// method (after one warm-up round, as TestForwardAllocatesNothing warms up
// with a prefill).
func TestRestoreThenForwardAllocatesNothing(t *testing.T) {
	for _, fm := range forkModels(t) {
		_, snap := prefillAndSnapshot(t, fm)
		for _, method := range attention.Names() {
			t.Run(fm.store+"/"+method, func(t *testing.T) {
				cell := newForkState(t, fm, method, 32, forkDenseLayers, false)
				if dev, ok := pimOf(cell); ok {
					dev.Device().RecordTrace(false)
				}
				round := func() {
					logits, err := cell.Restore(snap)
					if err != nil {
						t.Fatal(err)
					}
					for range 3 {
						if logits, err = fm.m.Forward(cell, kernels.Argmax(logits)); err != nil {
							t.Fatal(err)
						}
					}
				}
				round()
				if a := testing.AllocsPerRun(5, round); a != 0 {
					t.Errorf("Restore and 3 decode steps allocate %v times", a)
				}
			})
		}
	}
}

// Snapshots and restores that cannot be honoured are errors that say what
// to do, never panics.
func TestForkErrors(t *testing.T) {
	models := forkModels(t)
	dense, device := models[0], models[1]
	_, denseSnap := prefillAndSnapshot(t, dense)
	_, pimSnap := prefillAndSnapshot(t, device)
	denseIntoPIM := device
	denseIntoPIM.store = "dense"
	snapshots := []struct {
		name  string
		state func() *model.State
		want  string
	}{
		{"empty", func() *model.State { return newForkState(t, dense, "full", 0, 0, false) }, "prefill the prompt first"},
		{"after forward", func() *model.State {
			st := newForkState(t, dense, "full", 0, 0, false)
			if _, err := dense.m.Prefill(st, dense.prompt); err != nil {
				t.Fatal(err)
			}
			if _, err := dense.m.Forward(st, 1); err != nil {
				t.Fatal(err)
			}
			return st
		}, "after a decode step"},
		{"pim not forkable", func() *model.State {
			st := newForkState(t, device, "full", 0, 0, false)
			if _, err := device.m.Prefill(st, device.prompt); err != nil {
				t.Fatal(err)
			}
			return st
		}, "StateOptions.Forkable"},
	}
	for _, tc := range snapshots {
		t.Run("snapshot/"+tc.name, func(t *testing.T) {
			_, err := tc.state().Snapshot(nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	restores := []struct {
		name string
		into *model.State
		snap *model.Snapshot
		want string
	}{
		{"other model", newForkState(t, device, "full", 0, 0, false), denseSnap, "vocabulary of 512 into a state for 96"},
		{"dense into pim", newForkState(t, device, "full", 0, 0, false), func() *model.Snapshot {
			_, s := prefillAndSnapshot(t, denseIntoPIM)
			return s
		}(), "dense-store snapshot into an engine with a *attention.PIM store"},
		{"pim into dense", newForkState(t, denseIntoPIM, "full", 0, 0, false), pimSnap, "pim-store snapshot into an engine with a *attention.Dense store"},
		{"empty snapshot", newForkState(t, dense, "full", 0, 0, false), &model.Snapshot{}, "empty snapshot"},
	}
	for _, tc := range restores {
		t.Run("restore/"+tc.name, func(t *testing.T) {
			_, err := tc.into.Restore(tc.snap)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if tc.into.Pos() != 0 {
				t.Fatalf("a refused restore moved the state to position %d", tc.into.Pos())
			}
		})
	}
}
