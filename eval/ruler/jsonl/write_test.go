package jsonl

import (
	"bytes"
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

func pred(i int) Prediction {
	return Prediction{Index: i, Pred: fmt.Sprintf(" answer %d <&>", i), Input: "prompt é", Outputs: []string{strconv.Itoa(i)}, Truncation: -1, Length: 10}
}

func TestWriterLineMatchesCallAPIFieldsAndReadsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "4096", "pred", "vt.jsonl")
	w, err := OpenPredictions(path)
	if err != nil {
		t.Fatal(err)
	}
	s := Sample{Index: 7, Input: "text", AnswerPrefix: " Answer:", Outputs: []string{"A", "B"}, Length: 99, Truncation: -1}
	if err := w.Write(NewPrediction(&s, " A B")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	want := `{"index":7,"pred":" A B","input":"text Answer:","outputs":["A","B"],"others":{},"truncation":-1,"length":99}` + "\n"
	if string(raw) != want {
		t.Fatalf("line\n%s\nwant\n%s", raw, want)
	}
	got, err := ReadPredictions(path)
	if err != nil || len(got) != 1 || got[0].Input != "text Answer:" || !reflect.DeepEqual(got[0].Outputs, s.Outputs) {
		t.Fatalf("read back %+v, %v", got, err)
	}
}

func TestResumeSkipsPredictedAndRefusesDuplicates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "niah.jsonl")
	w, err := OpenPredictions(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := w.Write(pred(i * 10)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(pred(10)); err == nil {
		t.Fatal("second write of index 10 accepted")
	}
	w.Close()

	w, err = OpenPredictions(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Len() != 3 || !w.Predicted(0) || !w.Predicted(20) || w.Predicted(1) {
		t.Fatalf("resume: len %d", w.Len())
	}
	if err := w.Write(pred(20)); err == nil || !strings.Contains(err.Error(), "already predicted") {
		t.Fatalf("duplicate after resume: %v", err)
	}
	if err := w.Write(pred(30)); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPredictions(path)
	if err != nil || len(got) != 4 || got[3].Index != 30 {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestResumeTruncatesTornLastLine(t *testing.T) {
	full := func(i int) string {
		var b bytes.Buffer
		fmt.Fprintf(&b, `{"index":%d,"pred":"p","input":"q","outputs":["a"],"others":{}}`+"\n", i)
		return b.String()
	}
	tests := []struct {
		name, content string
		want          []int
	}{
		{"no torn line", full(0) + full(1), []int{0, 1}},
		{"torn mid-line", full(0) + full(1)[:20], []int{0}},
		{"complete json but no newline", full(0) + strings.TrimSuffix(full(1), "\n"), []int{0}},
		{"torn first line", full(0)[:5], nil},
		{"empty file", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.jsonl")
			os.WriteFile(path, []byte(tc.content), 0o644)
			w, err := OpenPredictions(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range tc.want {
				if !w.Predicted(i) {
					t.Errorf("index %d not predicted", i)
				}
			}
			if w.Len() != len(tc.want) {
				t.Fatalf("Len %d, want %d", w.Len(), len(tc.want))
			}
			// The sample of a torn line is predicted again: exactly one line for it.
			if !w.Predicted(1) {
				if err := w.Write(pred(1)); err != nil {
					t.Fatal(err)
				}
			}
			w.Close()
			got, err := ReadPredictions(path)
			if err != nil {
				t.Fatal(err)
			}
			var idx []int
			for _, p := range got {
				idx = append(idx, p.Index)
			}
			want := append(append([]int{}, tc.want...), 1)
			if len(tc.want) == 2 {
				want = tc.want
			}
			if !reflect.DeepEqual(idx, want) {
				t.Fatalf("indices after resume %v, want %v", idx, want)
			}
		})
	}
}

func TestOpenPredictionsRefusesCorruptCompleteLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.jsonl")
	content := "{\"index\":0,\"pred\":\"p\",\"input\":\"q\",\"outputs\":[\"a\"],\"others\":{}}\nnot json\n"
	os.WriteFile(path, []byte(content), 0o644)
	if _, err := OpenPredictions(path); err == nil || !strings.Contains(err.Error(), "p.jsonl:2") {
		t.Fatalf("err = %v", err)
	}
	if raw, _ := os.ReadFile(path); string(raw) != content {
		t.Fatal("a refused file was modified")
	}
}

// TestKilledWriterLosesNothing kills (SIGKILL) a process writing
// predictions as fast as it can, then resumes: every complete line survives,
// nothing is duplicated, and the resumed file ends with whole lines only.
func TestKilledWriterLosesNothing(t *testing.T) {
	if os.Getenv("STARC_JSONL_CHILD") != "" {
		w, err := OpenPredictions(os.Getenv("STARC_JSONL_CHILD"))
		if err != nil {
			os.Exit(3)
		}
		for i := 0; ; i++ {
			p := pred(i)
			p.Input = strings.Repeat("long prompt ", 20000) // 240 KB lines: kills can land mid-write
			if err := w.Write(p); err != nil {
				os.Exit(4)
			}
		}
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
	deadline := time.Now().Add(10 * time.Second)
	for {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 3<<20 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("child wrote nothing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	w, err := OpenPredictions(path)
	if err != nil {
		t.Fatal(err)
	}
	n := w.Len()
	for i := range n {
		if !w.Predicted(i) {
			t.Fatalf("index %d missing of %d", i, n)
		}
	}
	for i := n; i < n+2; i++ {
		if err := w.Write(pred(i)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	got, err := ReadPredictions(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n+2 || n < 10 {
		t.Fatalf("%d lines after resume, want %d (n=%d)", len(got), n+2, n)
	}
}
