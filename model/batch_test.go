package model_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
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
// choice, [cell][step][Vocab], and the cells' states.
func separateRuns(t *testing.T, m *model.Model, cells []batchCell, s cellSetup, steps int) ([][][]float32, []*model.State) {
	t.Helper()
	runs := make([][][]float32, len(cells))
	states := make([]*model.State, len(cells))
	for i, c := range cells {
		st, logits := newCellState(t, m, c, s, 1)
		states[i] = st
		for range steps {
			runs[i] = append(runs[i], slices.Clone(logits))
			var err error
			if logits, err = m.Forward(st, kernels.Argmax(logits)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return runs, states
}

// batchedRuns decodes the same cells greedily in batches of up to size
// sequences per step (cells[0:size], cells[size:2*size], ...), each state
// prefilled on its own first, and returns the logits and the states as
// separateRuns does.
func batchedRuns(t *testing.T, m *model.Model, cells []batchCell, s cellSetup, steps, size, stateThreads int) ([][][]float32, []*model.State) {
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
	return runs, states
}

// sameRuns fails unless got and want chose the same token at every step,
// hold the same logits bit for bit, and their states the same keys and
// values in every slot, bit for bit.
func sameRuns(t *testing.T, m *model.Model, cells []batchCell, got, want [][][]float32, gotStates, wantStates []*model.State) {
	t.Helper()
	for i, c := range cells {
		for s := range want[i] {
			if g, w := kernels.Argmax(got[i][s]), kernels.Argmax(want[i][s]); g != w {
				t.Fatalf("%s: step %d: batched greedy token %d, separate %d", c, s, g, w)
			}
			for j, w := range want[i][s] {
				if g := got[i][s][j]; math.Float32bits(g) != math.Float32bits(w) {
					t.Fatalf("%s: step %d logit %d: batched %v, separate %v", c, s, j, g, w)
				}
			}
		}
		sameKV(t, m, c, gotStates[i], wantStates[i])
	}
}

// sameKV fails unless two states of m are at the same position and their
// stores hold the same keys and values in every slot so far, bit for bit.
func sameKV(t *testing.T, m *model.Model, c batchCell, got, want *model.State) {
	t.Helper()
	if got.Pos() != want.Pos() {
		t.Fatalf("%s: batched state at position %d, separate at %d", c, got.Pos(), want.Pos())
	}
	cfg, n := m.Config, want.Pos()
	slots := make([]int, n)
	for i := range slots {
		slots[i] = i
	}
	buf := make([]float32, 4*n*cfg.HeadDim)
	gk, gv, wk, wv := buf[:n*cfg.HeadDim], buf[n*cfg.HeadDim:2*n*cfg.HeadDim], buf[2*n*cfg.HeadDim:3*n*cfg.HeadDim], buf[3*n*cfg.HeadDim:]
	for l := range cfg.Layers {
		for h := range cfg.KVHeads {
			got.Store().Read(l, h, slots, gk, gv)
			want.Store().Read(l, h, slots, wk, wv)
			for j := range wk {
				if math.Float32bits(gk[j]) != math.Float32bits(wk[j]) || math.Float32bits(gv[j]) != math.Float32bits(wv[j]) {
					t.Fatalf("%s: layer %d KV head %d slot %d: batched k, v = %v, %v; separate %v, %v",
						c, l, h, j/cfg.HeadDim, gk[j], gv[j], wk[j], wv[j])
				}
			}
		}
	}
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

// A batched step computes what separate Forward passes compute, bit for
// bit (logits, greedy tokens, every key and value): every method at
// budgets that bite (8 and 24 tokens per head, against contexts of 20 to
// 200), thirteen sequences at thirteen different positions, decoded
// greedily for 40 steps in batches of 1, 4 (whole four-vector tiles of
// kernels.MatVecBatch), 5 (a leftover vector) and 13; with the states
// single-threaded (attention in parallel across sequences) and
// two-threaded (one sequence after another). It runs at the kernels' own
// level; TestBatchEqualsSeparateForwardsEveryISA runs it at each.
func TestBatchEqualsSeparateForwards(t *testing.T) {
	m, tok := stories(t)
	t.Logf("kernels: %s", kernels.ISA())
	const capacity, steps, dense = 256, 40, 1
	cells := batchCells(t, attention.Names(), []int{8, 24}, shakespeareIDs(t, tok), 20, 11)
	setup := cellSetup{capacity: capacity, denseLayers: dense}
	want, wantStates := separateRuns(t, m, cells, setup, steps)
	for _, c := range []struct{ size, stateThreads int }{{1, 1}, {4, 1}, {5, 1}, {13, 1}, {5, 2}} {
		t.Run(fmt.Sprintf("batch%d/threads%d", c.size, c.stateThreads), func(t *testing.T) {
			got, states := batchedRuns(t, m, cells, setup, steps, c.size, c.stateThreads)
			sameRuns(t, m, cells, got, want, states, wantStates)
		})
	}
}

// TestBatchEqualsSeparateForwards at the kernel levels below the CPU's
// own, each in a child test process whose x/sys/cpu sees the wider
// features switched off: GODEBUG=cpu.avx512f=off runs the AVX2 kernels,
// cpu.avx2=off the plain-Go twins. The child reports its level, which
// must be the one asked for.
func TestBatchEqualsSeparateForwardsEveryISA(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the test binary again per level")
	}
	levels := []string{"generic", "avx2", "avx512"}
	own := slices.Index(levels, kernels.ISA())
	for _, c := range []struct{ isa, godebug string }{{"avx2", "cpu.avx512f=off"}, {"generic", "cpu.avx2=off"}} {
		t.Run(c.isa, func(t *testing.T) {
			if slices.Index(levels, c.isa) >= own {
				t.Skipf("the kernels run at %s here: TestBatchEqualsSeparateForwards covers it", kernels.ISA())
			}
			godebug := c.godebug
			if old := os.Getenv("GODEBUG"); old != "" {
				godebug = old + "," + godebug
			}
			cmd := exec.Command(os.Args[0], "-test.run", "^TestBatchEqualsSeparateForwards$", "-test.count", "1", "-test.v")
			cmd.Env = append(os.Environ(), "GODEBUG="+godebug)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("GODEBUG=%s: %v\n%s", godebug, err, out)
			}
			if want := "kernels: " + c.isa; !strings.Contains(string(out), want) {
				t.Fatalf("GODEBUG=%s: the child did not log %q:\n%s", godebug, want, out)
			}
			if !strings.Contains(string(out), "--- PASS: TestBatchEqualsSeparateForwards ") {
				t.Fatalf("GODEBUG=%s: the child did not pass the test:\n%s", godebug, out)
			}
		})
	}
}

// The same on SmolLM2 (bf16 weights, 576 wide: the four-vector kernel of
// the bf16 matrix-vector kernel at AVX-512), with the KV cache in host
// memory (float32) and in the PIM device (FP16, each sequence its own
// device, as every command runs by default): every method at budgets 32
// and 64, thirteen sequences at thirteen positions (60 to 204 tokens), 8
// greedy steps, in batches of 5 (a tile and a leftover vector, three
// batches) and of 13: the same logits, greedy tokens and FP16 keys and
// values, bit for bit.
func TestBatchEqualsSeparateForwardsSmolLM2(t *testing.T) {
	if testing.Short() {
		t.Skip("runs SmolLM2")
	}
	m, tok := smolLM2(t)
	t.Logf("kernels: %s", kernels.ISA())
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
			want, wantStates := separateRuns(t, m, cells, setup, steps)
			for _, size := range []int{5, len(cells)} {
				t.Run(fmt.Sprintf("batch%d", size), func(t *testing.T) {
					got, states := batchedRuns(t, m, cells, setup, steps, size, 1)
					sameRuns(t, m, cells, got, want, states, wantStates)
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
