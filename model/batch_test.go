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

// newCellState builds the state of one cell and prefills its prompt; it
// returns the state and a copy of the logits after the prompt.
func newCellState(t testing.TB, m *model.Model, c batchCell, capacity, threads, denseLayers int) (*model.State, []float32) {
	t.Helper()
	cfg := m.AttentionConfig(capacity)
	cfg.Budget, cfg.DenseLayers = c.budget, denseLayers
	meth, err := attention.New(c.method, cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := model.NewState(m, model.StateOptions{MaxTokens: capacity, Threads: threads, Method: meth, DenseLayers: denseLayers})
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
func separateRuns(t *testing.T, m *model.Model, cells []batchCell, capacity, steps, denseLayers int) [][][]float32 {
	t.Helper()
	runs := make([][][]float32, len(cells))
	for i, c := range cells {
		st, logits := newCellState(t, m, c, capacity, 1, denseLayers)
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
func batchedRuns(t *testing.T, m *model.Model, cells []batchCell, capacity, steps, denseLayers, size, stateThreads int) [][][]float32 {
	t.Helper()
	b, err := model.NewBatch(m, size, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	states := make([]*model.State, len(cells))
	logits := make([][]float32, len(cells))
	for i, c := range cells {
		states[i], logits[i] = newCellState(t, m, c, capacity, stateThreads, denseLayers)
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
	worst := 0.0
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
				worst = max(worst, d)
			}
		}
	}
	t.Logf("largest logit difference %.3g", worst)
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
	want := separateRuns(t, m, cells, capacity, steps, dense)
	for _, c := range []struct {
		size, stateThreads int
		tol                float64
	}{{1, 1, 0}, {4, 1, 2e-5}, {5, 1, 2e-5}, {13, 1, 2e-5}, {5, 2, 2e-5}} {
		t.Run(fmt.Sprintf("batch%d/threads%d", c.size, c.stateThreads), func(t *testing.T) {
			got := batchedRuns(t, m, cells, capacity, steps, dense, c.size, c.stateThreads)
			sameRuns(t, cells, got, want, c.tol)
		})
	}
}

// The same on SmolLM2 (bf16 weights, 576 wide), briefly: five sequences
// (one GEMM tile and a leftover row), three methods at budgets 32 and 64,
// five positions, 8 steps.
func TestBatchEqualsSeparateForwardsSmolLM2(t *testing.T) {
	if testing.Short() {
		t.Skip("runs SmolLM2")
	}
	dir := testenv.DefaultModel(t)
	ckpt, err := weights.OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ckpt.Close()
	m, err := model.Load(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(testenv.Shared(t, "data/pg174_picture_of_dorian_gray.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode(string(text[:3000]), tokenizer.EncodeOptions{AddSpecial: true})
	cells := batchCells(t, []string{"full", "starc", "quest"}, []int{32, 64}, ids, 100, 25)
	const capacity, steps, dense = 256, 8, 1
	want := separateRuns(t, m, cells, capacity, steps, dense)
	got := batchedRuns(t, m, cells, capacity, steps, dense, len(cells), 1)
	sameRuns(t, cells, got, want, 1e-4)
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
			b, err := model.NewBatch(m, len(cells), 2)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			states, tokens := make([]*model.State, len(cells)), make([]int, len(cells))
			snaps := make([]*model.Snapshot, len(cells))
			for i, c := range cells {
				states[i], _ = newCellState(t, m, c, 256, stateThreads, 1)
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
		})
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
	a, _ := newCellState(t, m, batchCell{"full", 0, []int{1, 2, 3}}, 8, 1, 0)
	c, _ := newCellState(t, m, batchCell{"full", 0, []int{1, 2, 3}}, 8, 1, 0)
	full, _ := newCellState(t, m, batchCell{"full", 0, []int{1, 2, 3, 4}}, 4, 1, 0)
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
