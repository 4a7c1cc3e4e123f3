package jsonl

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// samples are n data samples with indices 0, 10, 20, …, except that the
// last two share one index, as RULER's niah files can.
func samples(n int) []Sample {
	out := make([]Sample, n)
	for i := range out {
		idx := i * 10
		if i == n-1 && n > 1 {
			idx = (n - 2) * 10
		}
		out[i] = Sample{Index: idx, Input: "text " + strconv.Itoa(i), AnswerPrefix: " Answer:", Outputs: []string{strconv.Itoa(i)}, Length: 10, Truncation: -1}
	}
	return out
}

func indices(ps []Prediction) []int {
	var out []int
	for _, p := range ps {
		out = append(out, p.Index)
	}
	return out
}

func sampleIndices(ss []Sample) []int {
	var out []int
	for _, s := range ss {
		out = append(out, s.Index)
	}
	return out
}

func TestWriterLineMatchesCallAPIFieldsAndReadsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "4096", "pred", "vt.jsonl")
	s := Sample{Index: 7, Input: "text <&>", AnswerPrefix: " Answer:", Outputs: []string{"A", "B"}, Length: 99, Truncation: -1}
	w, err := OpenPredictions(path, []Sample{s})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(NewPrediction(&s, " A B")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	want := `{"index":7,"pred":" A B","input":"text <&> Answer:","outputs":["A","B"],"others":{},"truncation":-1,"length":99}` + "\n"
	if string(raw) != want {
		t.Fatalf("line\n%s\nwant\n%s", raw, want)
	}
	got, err := ReadPredictions(path)
	if err != nil || len(got) != 1 || got[0].Input != "text <&> Answer:" || !reflect.DeepEqual(got[0].Outputs, s.Outputs) {
		t.Fatalf("read back %+v, %v", got, err)
	}
}

func TestResumeMatchesLinesToSamplesByIndexAndOccurrence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "niah.jsonl")
	data := samples(4) // indices 0, 10, 20, 20
	w, err := OpenPredictions(path, data)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 2} {
		if err := w.Write(NewPrediction(&data[i], "p")); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()

	w, err = OpenPredictions(path, data)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if got := sampleIndices(w.Pending()); !reflect.DeepEqual(got, []int{10, 20}) || w.Len() != 2 {
		t.Fatalf("pending %v len %d, want [10 20] 2", got, w.Len())
	}
	if p := w.Pending()[1]; p.Outputs[0] != "3" {
		t.Fatalf("the second sample with index 20 is pending, got %+v", p)
	}
	for _, s := range w.Pending() {
		if err := w.Write(NewPrediction(&s, "p")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(NewPrediction(&data[3], "p")); err == nil || !strings.Contains(err.Error(), "already predicted") {
		t.Fatalf("a third line for index 20: %v", err)
	}
	if len(w.Pending()) != 0 {
		t.Fatal("samples pending after all were written")
	}
	got, err := ReadPredictions(path)
	if err != nil || !reflect.DeepEqual(indices(got), []int{0, 20, 10, 20}) {
		t.Fatalf("%v %v", indices(got), err)
	}
}

func TestResumeTruncatesTornLastLine(t *testing.T) {
	data := samples(3) // 0, 10, 10
	line := func(i int) string {
		return fmt.Sprintf(`{"index":%d,"pred":"p","input":"q","outputs":[%q],"others":{}}`+"\n", data[i].Index, data[i].Outputs[0])
	}
	tests := []struct {
		name, content string
		pending       []int // data positions left to predict
	}{
		{"no torn line", line(0) + line(1), []int{2}},
		{"torn mid-line", line(0) + line(1)[:20], []int{1, 2}},
		{"complete json but no newline", line(0) + strings.TrimSuffix(line(1), "\n"), []int{1, 2}},
		{"torn first line", line(0)[:5], []int{0, 1, 2}},
		{"empty file", "", []int{0, 1, 2}},
		{"blank lines only", "\n\n", []int{0, 1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.jsonl")
			os.WriteFile(path, []byte(tc.content), 0o644)
			w, err := OpenPredictions(path, data)
			if err != nil {
				t.Fatal(err)
			}
			var want []Sample
			for _, i := range tc.pending {
				want = append(want, data[i])
			}
			if got := w.Pending(); !reflect.DeepEqual(got, want) {
				t.Fatalf("pending %+v, want %+v", got, want)
			}
			for _, s := range w.Pending() {
				if err := w.Write(NewPrediction(&s, "p")); err != nil {
					t.Fatal(err)
				}
			}
			w.Close()
			got, err := ReadPredictions(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 {
				t.Fatalf("%d lines after completing, want 3", len(got))
			}
		})
	}
}

func TestOpenPredictionsRefusesOtherData(t *testing.T) {
	data := samples(3) // 0, 10, 10
	tests := []struct{ name, content, msg string }{
		{"corrupt complete line", `{"index":0,"pred":"p","input":"q","outputs":["0"],"others":{}}` + "\nnot json\n", "p.jsonl:2: not valid JSON"},
		{"index not in the data", `{"index":5,"pred":"p","input":"q","outputs":["0"],"others":{}}` + "\n", `field "index": 5 answers no sample`},
		{"more lines than samples", strings.Repeat(`{"index":0,"pred":"p","input":"q","outputs":["0"],"others":{}}`+"\n", 2), "p.jsonl:2: field \"index\""},
		{"other references", `{"index":0,"pred":"p","input":"q","outputs":["9"],"others":{}}` + "\n", `field "outputs"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.jsonl")
			os.WriteFile(path, []byte(tc.content+`{"torn`), 0o644)
			if _, err := OpenPredictions(path, data); err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %q", err, tc.msg)
			}
			if raw, _ := os.ReadFile(path); string(raw) != tc.content+`{"torn` {
				t.Fatal("a refused file was modified")
			}
		})
	}
	if _, err := OpenPredictions(filepath.Join(t.TempDir(), "p.jsonl"), nil); err == nil {
		t.Fatal("no samples accepted")
	}
}

// TestKilledWriterLosesNothing kills (SIGKILL) a process writing
// predictions as fast as it can, then resumes: every complete line survives,
// nothing is duplicated, and the resumed file ends with whole lines only.
func TestKilledWriterLosesNothing(t *testing.T) {
	data := samples(5000)
	for i := range data {
		data[i].Input = strings.Repeat("long prompt ", 20000) // 240 KB lines: kills can land mid-write
	}
	if path := os.Getenv("STARC_JSONL_CHILD"); path != "" {
		w, err := OpenPredictions(path, data)
		if err != nil {
			os.Exit(3)
		}
		for _, s := range w.Pending() {
			if err := w.Write(NewPrediction(&s, "p")); err != nil {
				os.Exit(4)
			}
		}
		os.Exit(0)
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	path := filepath.Join(t.TempDir(), "p.jsonl")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriterLosesNothing$")
	cmd.Env = append(os.Environ(), "STARC_JSONL_CHILD="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 3<<20 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("child wrote too little")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	w, err := OpenPredictions(path, data)
	if err != nil {
		t.Fatal(err)
	}
	n := w.Len()
	if pending := w.Pending(); len(pending) != len(data)-n || pending[0].Outputs[0] != strconv.Itoa(n) {
		t.Fatalf("%d lines survived but %d samples pending", n, len(pending))
	}
	for _, s := range w.Pending()[:2] {
		if err := w.Write(NewPrediction(&s, "p")); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	got, err := ReadPredictions(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n+2 || n < 10 {
		t.Fatalf("%d lines after resume, want %d", len(got), n+2)
	}
	for i, p := range got {
		if p.Outputs[0] != strconv.Itoa(i) {
			t.Fatalf("line %d answers sample %s", i+1, p.Outputs[0])
		}
	}
}
