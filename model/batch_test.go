package model_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"starc/attention"
	"starc/internal/testenv"
	"starc/model"
	"starc/model/kernels"
	"starc/pim"
	"starc/tokenizer"
	"starc/weights"
)

// batchCell is one sequence of a batch test: a method at a budget, over a
// prompt of its own length.
type batchCell struct {
	method string
	budget int
	prompt []int
}

func (c batchCell) String() string { return fmt.Sprintf("%s-%d/%d", c.method, c.budget, len(c.prompt)) }

// batchCells is every method at every budget (full once), cell i
// prefilling the first first+i*step tokens of ids: positions all differ.
func batchCells(t *testing.T, methods []string, budgets []int, ids []int, first, step int) []batchCell {
	t.Helper()
	var cells []batchCell
	add := func(method string, budget int) {
		n := first + len(cells)*step
		if n > len(ids) {
			t.Fatalf("%d prompt tokens, cell %d needs %d", len(ids), len(cells), n)
		}
		cells = append(cells, batchCell{method, budget, ids[:n]})
	}
	for _, method := range methods {
		if method == "full" {
			add(method, 0)
			continue
		}
		for _, budget := range budgets {
			add(method, budget)
		}
	}
	return cells
}

// cellSetup is how every state of a batch test is built: capacity, dense
// layers and KV store (device: the PIM device's FP16 cells, each state its
// own device; else attention.Dense's float32 rows).
type cellSetup struct {
	capacity, denseLayers int
	device                bool
}

// newCellState builds the state of one cell and prefills its prompt; it
// returns the state and a copy of the logits after the prompt.
func newCellState(t testing.TB, m *model.Model, c batchCell, s cellSetup, threads int) (*model.State, []float32) {
	t.Helper()
	cfg := m.AttentionConfig(s.capacity)
	cfg.Budget, cfg.DenseLayers = c.budget, s.denseLayers
	meth, err := attention.New(c.method, cfg)
	if err != nil {
		t.Fatal(err)
	}
	opt := model.StateOptions{MaxTokens: s.capacity, Threads: threads, Method: meth, DenseLayers: s.denseLayers, Forkable: true}
	if s.device {
		if opt.Store, err = attention.NewPIM(pim.HBM3PIM(true), cfg, pim.LayoutGQA); err != nil {
			t.Fatal(err)
		}
	}
	st, err := model.NewState(m, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	logits, err := m.Prefill(st, c.prompt)
	if err != nil {
		t.Fatal(err)
	}
	return st, slices.Clone(logits)
}

// separateRuns is the reference: each cell prefilled and decoded greedily
// for steps tokens by Forward alone; it returns the logits before each
// choice, [cell][step][Vocab].
func separateRuns(t *testing.T, m *model.Model, cells []batchCell, s cellSetup, steps int) [][][]float32 {
	t.Helper()
	runs := make([][][]float32, len(cells))
	for i, c := range cells {
		st, logits := newCellState(t, m, c, s, 1)
		for range steps {
			runs[i] = append(runs[i], slices.Clone(logits))
			var err error
			if logits, err = m.Forward(st, kernels.Argmax(logits)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return runs
}

// batchedRuns decodes the same cells greedily in batches of up to size
// sequences per step (cells[0:size], cells[size:2*size], ...), each state
// prefilled on its own first, and returns the logits as separateRuns does.
func batchedRuns(t *testing.T, m *model.Model, cells []batchCell, s cellSetup, steps, size, stateThreads int) [][][]float32 {
	t.Helper()
	b, err := model.NewBatch(m, size, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	states := make([]*model.State, len(cells))
	logits := make([][]float32, len(cells))
	for i, c := range cells {
		states[i], logits[i] = newCellState(t, m, c, s, stateThreads)
	}
	runs := make([][][]float32, len(cells))
	tokens := make([]int, len(cells))
	for range steps {
		for i := range cells {
			runs[i] = append(runs[i], slices.Clone(logits[i]))
			tokens[i] = kernels.Argmax(logits[i])
		}
		for lo := 0; lo < len(cells); lo += size {
			hi := min(lo+size, len(cells))
			out, err := b.Forward(states[lo:hi], tokens[lo:hi])
			if err != nil {
				t.Fatal(err)
			}
			for j, row := range out {
				copy(logits[lo+j], row)
			}
		}
	}
	return runs
}

// sameRuns fails unless got and want chose the same token at every step
// and every logit is within tol.
func sameRuns(t *testing.T, cells []batchCell, got, want [][][]float32, tol float64) {
	t.Helper()
	worst, where := 0.0, ""
	for i, c := range cells {
		for s := range want[i] {
			if g, w := kernels.Argmax(got[i][s]), kernels.Argmax(want[i][s]); g != w {
				t.Fatalf("%s: step %d: batched greedy token %d, separate %d", c, s, g, w)
			}
			for j, w := range want[i][s] {
				d := math.Abs(float64(got[i][s][j] - w))
				if !(d <= tol) {
					t.Fatalf("%s: step %d logit %d: batched %v, separate %v (tolerance %g)", c, s, j, got[i][s][j], w, tol)
				}
				if d > worst {
					worst, where = d, fmt.Sprintf("%s step %d", c, s)
				}
			}
		}
	}
	t.Logf("largest logit difference %.3g (%s)", worst, where)
}

// shakespeareIDs is the start of the shared Shakespeare text in
// stories260K's tokens.
func shakespeareIDs(t *testing.T, tok *tokenizer.Tokenizer) []int {
	t.Helper()
	text, err := os.ReadFile(testenv.Shared(t, "data/tinyshakespeare_first20000.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return tok.Encode(string(text[:8000]), tokenizer.EncodeOptions{AddSpecial: true})
}

// A batched step computes what separate Forward passes compute: every
// method at budgets that bite (8 and 24 tokens per head, against contexts
// of 20 to 200), thirteen sequences at thirteen different positions,
// decoded greedily for 40 steps in batches of 1 (bit for bit: the same
// kernels), 4 (whole GEMM tiles), 5 (a leftover row) and 13; with the
// states single-threaded (attention in parallel across sequences) and
// two-threaded (one sequence after another).
func TestBatchEqualsSeparateForwards(t *testing.T) {
	m, tok := stories(t)
	const capacity, steps, dense = 256, 40, 1
	cells := batchCells(t, attention.Names(), []int{8, 24}, shakespeareIDs(t, tok), 20, 11)
	setup := cellSetup{capacity: capacity, denseLayers: dense}
	want := separateRuns(t, m, cells, setup, steps)
	for _, c := range []struct {
		size, stateThreads int
		tol                float64
	}{{1, 1, 0}, {4, 1, 2e-5}, {5, 1, 2e-5}, {13, 1, 2e-5}, {5, 2, 2e-5}} {
		t.Run(fmt.Sprintf("batch%d/threads%d", c.size, c.stateThreads), func(t *testing.T) {
			got := batchedRuns(t, m, cells, setup, steps, c.size, c.stateThreads)
			sameRuns(t, cells, got, want, c.tol)
		})
	}
}

// The same on SmolLM2 (bf16 weights, 576 wide), with the KV cache in
// host memory (float32) and in the PIM device (FP16, each sequence its own
// device, as every command runs by default): every method at budgets 32
// and 64, thirteen sequences at thirteen positions (60 to 204 tokens), 8
// greedy steps, in batches of 5 (a GEMM tile and a leftover row, three
// batches) and of 13: the same greedy tokens, and logits within a
// tolerance relative to the largest logit's magnitude (about 35). The
// batch's GEMM adds a row's products in another order than Forward's
// matrix-vector kernel, so its numbers differ in the last bits: float32
// K/V, logits within 1e-5 of that magnitude (measured 3.8e-5 absolute,
// 1.1e-6 relative). The device stores K/V as FP16: a last-bit difference
// in a key or value can round it to the next FP16 number (2^-11
// relative), so the logits drift further: within 1e-3 of that magnitude
// (measured 5.8e-3 for full attention, 1.2e-2 for topk at 32, 3.3e-4
// relative).
func TestBatchEqualsSeparateForwardsSmolLM2(t *testing.T) {
	if testing.Short() {
		t.Skip("runs SmolLM2")
	}
	m, tok := smolLM2(t)
	text, err := os.ReadFile(testenv.Shared(t, "data/pg174_picture_of_dorian_gray.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode(string(text[:3000]), tokenizer.EncodeOptions{AddSpecial: true})
	cells := batchCells(t, attention.Names(), []int{32, 64}, ids, 60, 12)
	const capacity, steps, dense = 256, 8, 1
	for _, device := range []bool{false, true} {
		setup := cellSetup{capacity: capacity, denseLayers: dense, device: device}
		t.Run(fmt.Sprintf("device=%v", device), func(t *testing.T) {
			want := separateRuns(t, m, cells, setup, steps)
			tol := 1e-5 * maxAbsLogit(want)
			if device {
				tol = 1e-3 * maxAbsLogit(want)
			}
			for _, size := range []int{5, len(cells)} {
				t.Run(fmt.Sprintf("batch%d", size), func(t *testing.T) {
					sameRuns(t, cells, batchedRuns(t, m, cells, setup, steps, size, 1), want, tol)
				})
			}
		})
	}
}

// smolLM2 loads the default model and its tokenizer.
func smolLM2(t *testing.T) (*model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	dir := testenv.DefaultModel(t)
	ckpt, err := weights.OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ckpt.Close() })
	m, err := model.Load(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

// maxAbsLogit is the largest logit magnitude of runs.
func maxAbsLogit(runs [][][]float32) float64 {
	worst := 0.0
	for _, run := range runs {
		for _, logits := range run {
			for _, v := range logits {
				worst = max(worst, math.Abs(float64(v)))
			}
		}
	}
	return worst
}

// Once warm, a batched step allocates nothing, with the states' attention
// in parallel across sequences or in turn. As in
// TestRestoreThenForwardAllocatesNothing, a round restores every state to
// its prefill and runs three steps, so the methods' buffers, which grow
// with the context, are warm too.
func TestBatchAllocatesNothing(t *testing.T) {
	m, tok := stories(t)
	cells := batchCells(t, attention.Names(), []int{16}, shakespeareIDs(t, tok), 30, 7)
	for _, stateThreads := range []int{1, 2} {
		t.Run(fmt.Sprintf("threads%d", stateThreads), func(t *testing.T) {
			checkBatchAllocations(t, m, cells, cellSetup{capacity: 256, denseLayers: 1}, stateThreads)
		})
	}
}

// The same with the KV caches in PIM devices (SmolLM2: stories260K's head
// dim of 8 does not fit the device's columns), every method at a budget
// that bites. A round replays the same accesses, so the device's cost
// model, which builds a simulation the first time it meets an access
// shape, has met them all in the first round.
func TestBatchOnDeviceAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs SmolLM2")
	}
	m, _ := smolLM2(t)
	ids := make([]int, 400)
	for i := range ids {
		ids[i] = 100 + i%1000
	}
	cells := batchCells(t, attention.Names(), []int{64}, ids, 150, 20)
	checkBatchAllocations(t, m, cells, cellSetup{capacity: 512, denseLayers: 2, device: true}, 1)
}

// checkBatchAllocations prefills and snapshots one state per cell, then
// fails if restoring them all and running three batched steps allocates.
func checkBatchAllocations(t *testing.T, m *model.Model, cells []batchCell, setup cellSetup, stateThreads int) {
	t.Helper()
	b, err := model.NewBatch(m, len(cells), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	states, tokens := make([]*model.State, len(cells)), make([]int, len(cells))
	snaps := make([]*model.Snapshot, len(cells))
	for i, c := range cells {
		states[i], _ = newCellState(t, m, c, setup, stateThreads)
		if snaps[i], err = states[i].Snapshot(nil); err != nil {
			t.Fatal(err)
		}
		tokens[i] = 300 + i
	}
	round := func() {
		for i, st := range states {
			if _, err := st.Restore(snaps[i]); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			if _, err := b.Forward(states, tokens); err != nil {
				t.Fatal(err)
			}
		}
	}
	round()
	if a := testing.AllocsPerRun(5, round); a != 0 {
		t.Errorf("restoring %d states and 3 batched steps allocate %v times", len(cells), a)
	}
}

// A step that cannot run is an error before any work: no state moves.
func TestBatchErrors(t *testing.T) {
	m, _ := stories(t)
	b, err := model.NewBatch(m, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a, _ := newCellState(t, m, batchCell{"full", 0, []int{1, 2, 3}}, cellSetup{capacity: 8}, 1)
	c, _ := newCellState(t, m, batchCell{"full", 0, []int{1, 2, 3}}, cellSetup{capacity: 8}, 1)
	full, _ := newCellState(t, m, batchCell{"full", 0, []int{1, 2, 3, 4}}, cellSetup{capacity: 4}, 1)
	for _, tc := range []struct {
		name   string
		states []*model.State
		tokens []int
		is     error
	}{
		{"no sequence", nil, nil, nil},
		{"more tokens than states", []*model.State{a}, []int{5, 6}, nil},
		{"more than the batch size", []*model.State{a, c, full}, []int{5, 6, 7}, nil},
		{"one state twice", []*model.State{a, a}, []int{5, 6}, nil},
		{"token outside the vocabulary", []*model.State{a, c}, []int{5, m.Config.Vocab}, nil},
		{"negative token", []*model.State{a, c}, []int{-1, 5}, nil},
		{"full state", []*model.State{a, full}, []int{5, 6}, model.ErrContextFull},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Forward(tc.states, tc.tokens)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			for _, st := range []*model.State{a, c} {
				if st.Pos() != 3 {
					t.Errorf("a state moved to position %d", st.Pos())
				}
			}
		})
	}
	if _, err := model.NewBatch(m, 0, 1); err == nil {
		t.Error("a batch of 0 sequences was built")
	}
}
