package score

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"starc/eval/ruler/jsonl"
)

// goldens is testdata/goldens.json, written by bench/ruler/goldens.py from
// RULER's evaluate.py/constants.py and STARC's ruler_eval.py themselves.
type goldens struct {
	Python, Numpy, Unicode string
	Clean                  []struct{ In, Out string }
	Round                  []struct{ In, Out float64 }
	Cases                  []struct {
		Name, Task string
		Preds      []string
		Refs       [][]string
		Ruler      struct {
			Score float64
			Nulls string
		}
		Starc *struct {
			Score     float64
			PerSample []float64 `json:"per_sample"`
		}
	}
}

func loadGoldens(t *testing.T) goldens {
	t.Helper()
	raw, err := os.ReadFile("testdata/goldens.json")
	if err != nil {
		t.Fatal(err)
	}
	var g goldens
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) < 20 {
		t.Fatalf("only %d golden cases", len(g.Cases))
	}
	return g
}

func TestCleanMatchesEvaluatePy(t *testing.T) {
	for _, c := range loadGoldens(t).Clean {
		if got := Clean(c.In); got != c.Out {
			t.Errorf("Clean(%q) = %q, evaluate.py %q", c.In, got, c.Out)
		}
	}
}

func TestRound2MatchesPythonRound(t *testing.T) {
	for _, c := range loadGoldens(t).Round {
		if got := Round2(c.In); got != c.Out {
			t.Errorf("Round2(%v) = %v, Python round %v", c.In, got, c.Out)
		}
	}
}

func TestRULERScorerMatchesEvaluatePy(t *testing.T) {
	for _, c := range loadGoldens(t).Cases {
		t.Run(c.Name, func(t *testing.T) {
			got, err := Task(RULER, c.Task, c.Preds, c.Refs)
			if err != nil {
				t.Fatal(err)
			}
			if got.Score != c.Ruler.Score || got.NullsString() != c.Ruler.Nulls {
				t.Fatalf("score %v nulls %s; evaluate.py %v nulls %s", got.Score, got.NullsString(), c.Ruler.Score, c.Ruler.Nulls)
			}
		})
	}
}

func TestSTARCScorerMatchesRulerEvalPy(t *testing.T) {
	for _, c := range loadGoldens(t).Cases {
		if c.Starc == nil {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			metric, ok := starcMetricFor(c.Task)
			if !ok {
				t.Fatalf("no metric for %s", c.Task)
			}
			for i, p := range c.Preds {
				if got := metric(p, c.Refs[i]); got != c.Starc.PerSample[i] {
					t.Errorf("sample %d (%q vs %q): %v, ruler_eval.py %v", i, p, c.Refs[i], got, c.Starc.PerSample[i])
				}
			}
			got, err := Task(STARC, c.Task, c.Preds, c.Refs)
			if err != nil {
				t.Fatal(err)
			}
			if got.Score != c.Starc.Score {
				t.Fatalf("mean %v, ruler_eval.py %v", got.Score, c.Starc.Score)
			}
		})
	}
}

// TestPyLowerMatchesPython checks str.lower and the final-sigma classes on
// every code point Python assigns (testdata/pylower.json, from
// bench/ruler/goldens.py). A code point is "cased" when "<c>Σ" lowers to a
// final sigma (cased, not case-ignorable) and "ignorable" when only "A<c>Σ"
// does (skipped on the way back to the cased "A").
func TestPyLowerMatchesPython(t *testing.T) {
	raw, err := os.ReadFile("testdata/pylower.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Unicode                    string
		Assigned, Cased, Ignorable [][2]rune
		Lower                      map[string]string
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	in := func(rs [][2]rune, r rune) bool {
		for _, x := range rs {
			if r >= x[0] && r <= x[1] {
				return true
			}
		}
		return false
	}
	bad := 0
	for _, a := range g.Assigned {
		for r := a[0]; r <= a[1]; r++ {
			want := string(r)
			if l, ok := g.Lower[strconv.Itoa(int(r))]; ok {
				want = l
			}
			if got := pyLower(string(r)); got != want {
				t.Errorf("lower(U+%04X) = %q, Python %q", r, got, want)
				bad++
			}
			if got, want := pyCased(r) && !pyCaseIgnorable(r), in(g.Cased, r); got != want {
				t.Errorf("U+%04X cased-not-ignorable: %v, Python %v", r, got, want)
				bad++
			}
			if got, want := pyCaseIgnorable(r), in(g.Ignorable, r); got != want {
				t.Errorf("U+%04X case-ignorable: %v, Python %v", r, got, want)
				bad++
			}
			if bad > 20 {
				t.Fatal("too many differences")
			}
		}
	}
}

func TestScorerErrors(t *testing.T) {
	tests := []struct {
		name    string
		scorer  Scorer
		task    string
		preds   []string
		refs    [][]string
		wantErr string
	}{
		{"unknown task", RULER, "passkey", []string{"a"}, [][]string{{"a"}}, `unknown task "passkey"`},
		{"no references", RULER, "vt", []string{"a"}, [][]string{{}}, "sample 0 has no reference answers"},
		{"shape mismatch", STARC, "vt", []string{"a", "b"}, [][]string{{"a"}}, "2 predictions but 1 reference lists"},
		{"unknown scorer", Scorer("rouge"), "vt", []string{"a"}, [][]string{{"a"}}, "unknown scorer"},
		{"starc unknown task", STARC, "passkey", []string{"a"}, [][]string{{"a"}}, "no metric"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Task(tc.scorer, tc.task, tc.preds, tc.refs)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
	if _, err := ParseScorer("RULER"); err == nil {
		t.Fatal("ParseScorer is case-sensitive like the flag values")
	}
}

func TestEmptyTaskScoresZeroLikeEvaluatePy(t *testing.T) {
	got, err := Task(RULER, "vt", nil, nil)
	if err != nil || got.Score != 0 || got.NullsString() != "0/0" {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestDirSummarisesInRULEROrder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "4096", "pred")
	write := func(task string, preds []jsonl.Prediction) {
		var data []jsonl.Sample
		for _, p := range preds {
			data = append(data, jsonl.Sample{Index: p.Index, Outputs: p.Outputs})
		}
		w, err := jsonl.OpenPredictions(filepath.Join(dir, task+".jsonl"), data)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range preds {
			if err := w.Write(p); err != nil {
				t.Fatal(err)
			}
		}
		w.Close()
	}
	p := func(i int, pred string, outs ...string) jsonl.Prediction {
		return jsonl.Prediction{Index: i, Pred: pred, Input: "q", Outputs: outs}
	}
	write("vt", []jsonl.Prediction{p(0, "A B", "A", "B", "C"), p(1, "", "X")})
	write("niah_single_1", []jsonl.Prediction{p(5, " 123.", "123")})
	write("qa_1", []jsonl.Prediction{p(0, "Paris", "paris", "x"), p(1, "no", "yes")})
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a prediction file"), 0o644)

	s, err := Dir(RULER, dir, 4096)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, ts := range s.Tasks {
		order = append(order, ts.Task+"="+strconv.FormatFloat(ts.Score, 'f', 2, 64)+"("+ts.NullsString()+")")
	}
	// vt: (2/3 + 0)/2 = 33.33; niah: 100; qa_1: 50. Mean of the rounded scores.
	want := "niah_single_1=100.00(0/1) vt=33.33(1/2) qa_1=50.00(0/2)"
	if strings.Join(order, " ") != want || s.Length != 4096 || math.Abs(s.Mean-(100+33.33+50)/3) > 1e-12 {
		t.Fatalf("got %s mean %v", strings.Join(order, " "), s.Mean)
	}
	if _, err := Dir(RULER, t.TempDir(), 4096); err == nil {
		t.Fatal("an empty prediction directory was accepted")
	}
}
