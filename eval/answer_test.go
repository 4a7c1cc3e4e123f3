package eval

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"starc/attention"
	"starc/internal/testenv"
	"starc/model"
	"starc/pim"
	"starc/tokenizer"
	"starc/weights"
	"starc/weights/convert"
)

var (
	storiesOnce sync.Once
	storiesDir  string
	storiesErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if storiesDir != "" {
		os.RemoveAll(filepath.Dir(storiesDir))
	}
	os.Exit(code)
}

// stories converts the stories260K GGUF (F32) once per test binary and
// loads it.
func stories(t *testing.T) (*model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	gguf := testenv.Shared(t, "models/stories260K/stories260K.gguf")
	storiesOnce.Do(func() {
		var root string
		if root, storiesErr = os.MkdirTemp("", "starc-eval-test-"); storiesErr != nil {
			return
		}
		storiesDir = filepath.Join(root, "stories260K")
		_, storiesErr = convert.Convert(context.Background(), gguf, storiesDir, convert.Options{DType: weights.F32})
	})
	if storiesErr != nil {
		t.Fatalf("convert stories260K: %v", storiesErr)
	}
	ckpt, err := weights.OpenCheckpoint(storiesDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ckpt.Close() })
	m, err := model.Load(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(filepath.Join(storiesDir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

// Every cell answers from a fork of one shared prefill exactly what it
// answers when it prefills the prompt itself: the same tokens and the same
// cost (tokens and rows per head, and with the KV cache in the device its
// latency and energy per token), for every method at budgets that bite.
func TestAnswerFromForkEqualsReprefill(t *testing.T) {
	m, tok := stories(t)
	text, err := os.ReadFile(testenv.Shared(t, "data/tinyshakespeare_first20000.txt"))
	if err != nil {
		t.Fatal(err)
	}
	prompt := tok.Encode(string(text), tokenizer.EncodeOptions{AddSpecial: true})[:300]
	checkForkEqualsReprefill(t, m, prompt, Cells(attention.Names(), []int{8, 40}), 24, false)
}

// The same on the device store, with SmolLM2 (the device splits a head's
// FP16 vector over a bank group's banks: stories260K's 8-element heads are
// too small).
func TestAnswerFromForkEqualsReprefillInDevice(t *testing.T) {
	if testing.Short() {
		t.Skip("runs SmolLM2")
	}
	m, prompt := smolLM2Prompt(t, 3000, 200)
	checkForkEqualsReprefill(t, m, prompt, Cells([]string{"full", "starc", "quest", "topk"}, []int{32}), 6, true)
}

// smolLM2Prompt loads the default model and returns it with the first n
// tokens of the first chars bytes of The Picture of Dorian Gray (a plain
// completion prompt; chars 0 = the whole book).
func smolLM2Prompt(t testing.TB, chars, n int) (*model.Model, []int) {
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
	text, err := os.ReadFile(testenv.Shared(t, "data/pg174_picture_of_dorian_gray.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if chars > 0 {
		text = text[:chars]
	}
	return m, tok.Encode(string(text), tokenizer.EncodeOptions{AddSpecial: true})[:n]
}

func checkForkEqualsReprefill(t *testing.T, m *model.Model, prompt []int, cells []Cell, maxNew int, onDevice bool) {
	t.Helper()
	answers := map[bool][]Answer{}
	for _, reprefill := range []bool{false, true} {
		a, err := NewAnswerer(m, AnswerConfig{Base: m.AttentionConfig(0), DenseLayers: 1, Threads: 2, PIM: onDevice,
			Layout: pim.LayoutGQA, Reprefill: reprefill})
		if err != nil {
			t.Fatal(err)
		}
		// Two prompts through one Answerer: the shared prefill is reused.
		if _, err := a.Answer(context.Background(), prompt[:len(prompt)/3], 2, nil, cells[:2]); err != nil {
			t.Fatal(err)
		}
		if answers[reprefill], err = a.Answer(context.Background(), prompt, maxNew, nil, cells); err != nil {
			t.Fatal(err)
		}
		a.Close()
	}
	for i, fork := range answers[false] {
		own := answers[true][i]
		if !reflect.DeepEqual(fork, own) {
			t.Errorf("%s: fork answered %v %+v, own prefill %v %+v", fork.Cell, fork.Tokens, fork.Cost, own.Tokens, own.Cost)
		}
		if len(fork.Tokens) != maxNew || fork.Cost.DecodeSteps != maxNew-1 {
			t.Errorf("%s: %d tokens in %d decode steps, want %d in %d", fork.Cell, len(fork.Tokens), fork.Cost.DecodeSteps, maxNew, maxNew-1)
		}
		if onDevice != (fork.Cost.PIMEnergyNJ > 0) {
			t.Errorf("%s: PIM energy per token %g with the KV cache in the device: %v", fork.Cell, fork.Cost.PIMEnergyNJ, onDevice)
		}
		if (fork.Cell.Method == "topk" || fork.Cell.Method == "sparq") && fork.Cost.TokensPerHead != float64(fork.Cell.Budget) {
			t.Errorf("%s attended %.1f tokens per head", fork.Cell, fork.Cost.TokensPerHead)
		}
	}
}

// A stop token ends the answer without being part of it.
func TestAnswerStopsAtStopToken(t *testing.T) {
	m, tok := stories(t)
	prompt := tok.Encode("Once upon a time", tokenizer.EncodeOptions{AddSpecial: true})
	a, err := NewAnswerer(m, AnswerConfig{Base: m.AttentionConfig(0), Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	free, err := a.Answer(context.Background(), prompt, 8, nil, []Cell{{Method: "full"}})
	if err != nil {
		t.Fatal(err)
	}
	stop := free[0].Tokens[3]
	got, err := a.Answer(context.Background(), prompt, 8, []int{stop}, []Cell{{Method: "full"}})
	if err != nil {
		t.Fatal(err)
	}
	want := free[0].Tokens[:3]
	if i := indexOf(free[0].Tokens, stop); i < 3 {
		want = free[0].Tokens[:i]
	}
	if !reflect.DeepEqual(got[0].Tokens, want) || !got[0].StoppedAtEOS {
		t.Fatalf("stopped answer %v (eos %v), want %v", got[0].Tokens, got[0].StoppedAtEOS, want)
	}
}

func indexOf(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return len(s)
}

func TestCells(t *testing.T) {
	got := Cells([]string{"starc", "full", "quest"}, []int{256, 128})
	want := []Cell{{"starc", 256}, {"starc", 128}, {"full", 0}, {"quest", 256}, {"quest", 128}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if name := (Cell{"starc", 256}).String(); name != "starc-256" {
		t.Errorf("cell name %q", name)
	}
}

// Cells decoding in lockstep answer what they answer one after another
// (AnswerConfig.Batch 1, where every step is Forward itself): the same
// tokens and the same costs, for every method at budgets that bite, with a
// stop token that ends some answers early (so the batch shrinks as cells
// finish), in one batch, in batches of 5 (three batches, the last
// partial) and in batches bounded by memory to 3 cells.
func TestAnswerBatchedEqualsOneCellAtATime(t *testing.T) {
	m, tok := stories(t)
	text, err := os.ReadFile(testenv.Shared(t, "data/tinyshakespeare_first20000.txt"))
	if err != nil {
		t.Fatal(err)
	}
	prompt := tok.Encode(string(text), tokenizer.EncodeOptions{AddSpecial: true})[:300]
	cells := Cells(attention.Names(), []int{8, 40})
	const maxNew = 24
	answer := func(cfg AnswerConfig, stop []int) []Answer {
		t.Helper()
		cfg.Base, cfg.DenseLayers, cfg.Threads = m.AttentionConfig(0), 1, 2
		a, err := NewAnswerer(m, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		answers, err := a.Answer(context.Background(), prompt, maxNew, stop, cells)
		if err != nil {
			t.Fatal(err)
		}
		return answers
	}
	// A stop token some answers reach and others do not.
	free := answer(AnswerConfig{Batch: 1}, nil)
	stop := []int{free[0].Tokens[maxNew/2]}
	want := answer(AnswerConfig{Batch: 1}, stop)
	lengths := map[int]bool{}
	for _, ans := range want {
		lengths[len(ans.Tokens)] = true
	}
	if len(lengths) < 2 {
		t.Fatalf("every answer has %v tokens with stop %v: the batch never shrinks", lengths, stop)
	}
	perCell := cellBytes(m.AttentionConfig(0), len(prompt)+maxNew)
	for _, c := range []struct {
		name string
		cfg  AnswerConfig
	}{
		{"one batch", AnswerConfig{}},
		{"batches of 5", AnswerConfig{Batch: 5}},
		{"memory for 3 cells", AnswerConfig{MemoryBytes: 3*perCell + perCell/2}},
		{"reprefilled, batches of 5", AnswerConfig{Batch: 5, Reprefill: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := answer(c.cfg, stop)
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Errorf("%s: batched %v %+v, one at a time %v %+v", want[i].Cell, got[i].Tokens, got[i].Cost, want[i].Tokens, want[i].Cost)
				}
			}
		})
	}
}

func TestCellsPerBatch(t *testing.T) {
	base := attention.Config{Layers: 30, KVHeads: 3, HeadDim: 64}
	perCell := cellBytes(base, 2048) // 2 × 46 080 B per token
	if perCell != 2*46080*2048 {
		t.Fatalf("cellBytes = %d at 2048 tokens of SmolLM2's shape, want %d", perCell, 2*46080*2048)
	}
	for _, c := range []struct {
		name        string
		batch       int
		memory      int64
		cells, want int
	}{
		{"default memory holds 22: capped", 0, 0, 40, maxAutoBatch},
		{"fewer cells than fit", 0, 0, 5, 5},
		{"memory for 3", 0, 3*perCell + 1, 40, 3},
		{"memory for less than one", 0, perCell / 2, 40, 1},
		{"set", 7, 0, 40, 7},
		{"set, fewer cells", 7, 0, 4, 4},
		{"set beyond the automatic cap", 32, 0, 40, 32},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := &Answerer{cfg: AnswerConfig{Base: base, Batch: c.batch, MemoryBytes: c.memory}}
			if got := a.cellsPerBatch(2048, c.cells); got != c.want {
				t.Errorf("cellsPerBatch = %d, want %d", got, c.want)
			}
		})
	}
}

// The same with the KV cache in the device, on SmolLM2: each cell's device
// closes one step per decode step whatever the batch, so the hardware
// costs per token of a cell decoding in a batch are those it has alone.
func TestAnswerBatchedEqualsOneCellAtATimeInDevice(t *testing.T) {
	if testing.Short() {
		t.Skip("runs SmolLM2")
	}
	m, prompt := smolLM2Prompt(t, 3000, 200)
	cells := Cells([]string{"full", "starc", "quest", "topk"}, []int{32})
	answer := func(batch int) []Answer {
		a, err := NewAnswerer(m, AnswerConfig{Base: m.AttentionConfig(0), DenseLayers: 1, Threads: 2, PIM: true,
			Layout: pim.LayoutGQA, Batch: batch})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		answers, err := a.Answer(context.Background(), prompt, 6, nil, cells)
		if err != nil {
			t.Fatal(err)
		}
		return answers
	}
	want, got := answer(1), answer(0)
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%s: batched %v %+v, one at a time %v %+v", want[i].Cell, got[i].Tokens, got[i].Cost, want[i].Tokens, want[i].Cost)
		}
		if want[i].Cost.PIMEnergyNJ <= 0 {
			t.Errorf("%s: no device energy", want[i].Cell)
		}
	}
}

// BenchmarkAnswer times one Answer of SmolLM2 over a 2048-token prompt (its
// first 2048 tokens of Dorian Gray, plain completion), 32 tokens for each
// of 13 cells (full, and starc, quest and topk at 128, 256, 512 and 1024),
// with the cells decoding one after another ("batch1", today's sequence of
// forks) and in lockstep ("batched": all 13 at once). The shared prefill
// is in both. tok/s counts the answer tokens of all cells; load1 is the
// load average at the end. Run the binary several times so that the two
// alternate.
func BenchmarkAnswer(b *testing.B) {
	m, prompt := smolLM2Prompt(b, 0, 2048)
	cells := Cells([]string{"full", "starc", "quest", "topk"}, []int{128, 256, 512, 1024})
	const maxNew = 32
	for _, c := range []struct {
		name  string
		batch int
	}{{"batch1", 1}, {"batched", 0}} {
		b.Run(c.name, func(b *testing.B) {
			a, err := NewAnswerer(m, AnswerConfig{Base: m.AttentionConfig(0), DenseLayers: 2, Threads: 2, Batch: c.batch})
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			generated := 0
			for b.Loop() {
				answers, err := a.Answer(context.Background(), prompt, maxNew, nil, cells)
				if err != nil {
					b.Fatal(err)
				}
				for _, ans := range answers {
					generated += len(ans.Tokens)
				}
			}
			b.ReportMetric(float64(generated)/b.Elapsed().Seconds(), "tok/s")
			if data, err := os.ReadFile("/proc/loadavg"); err == nil {
				var load float64
				if _, err := fmt.Sscan(string(data), &load); err == nil {
					b.ReportMetric(load, "load1")
				}
			}
		})
	}
}
