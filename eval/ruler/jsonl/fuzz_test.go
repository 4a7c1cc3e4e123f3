package jsonl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParseSamples(f *testing.F) {
	f.Add([]byte(goodSample + "\n"))
	f.Add([]byte("\n\n" + goodSample))
	f.Add([]byte(`{"index":0,"input":"a","outputs":["b",null]}`))
	f.Add([]byte(`{"index":1e3,"input":"a","outputs":["b"],"others":{"x":[1]}}`))
	f.Add([]byte("{\"index\":0,\"input\":\"\\ud800\",\"outputs\":[\"\"]}\n{\"index\":0}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		samples, err := ParseSamples(strings.NewReader(string(data)), "fuzz.jsonl")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.jsonl") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		seen := map[int]bool{}
		for _, s := range samples {
			if s.Index < 0 || seen[s.Index] || len(s.Outputs) == 0 || s.Others == nil {
				t.Fatalf("accepted a bad sample: %+v", s)
			}
			seen[s.Index] = true
		}
	})
}

func FuzzParsePredictions(f *testing.F) {
	f.Add([]byte(`{"index": 0, "pred": " 123", "input": "q a", "outputs": ["123"], "others": {}, "truncation": -1, "length": 20}` + "\n"))
	f.Add([]byte(`{"index": 1, "pred": "x", "input": "q", "others": {"id": 9}, "output": "ref"}`))
	f.Add([]byte("{\"index\":0,\"pred\":\"\",\"input\":\"q\",\"others\":{}}\n{\"index\":1,\"pr"))
	f.Fuzz(func(t *testing.T, data []byte) {
		preds, err := ParsePredictions(strings.NewReader(string(data)), "fuzz.jsonl")
		if err != nil {
			return
		}
		seen := map[int]bool{}
		for _, p := range preds {
			if p.Index < 0 || seen[p.Index] || len(p.Outputs) == 0 || p.Others == nil {
				t.Fatalf("accepted a bad prediction: %+v", p)
			}
			seen[p.Index] = true
		}
	})
}

// FuzzResume: whatever a previous run left, OpenPredictions either refuses
// it unmodified or leaves whole lines only, one per predicted sample, and
// never lets a sample be predicted twice.
func FuzzResume(f *testing.F) {
	f.Add([]byte("{\"index\":0,\"pred\":\"p\",\"input\":\"q\",\"outputs\":[\"0\"],\"others\":{}}\n{\"index\":10,\"pred\""))
	f.Add([]byte("{\"index\":10,\"pred\":\"p\",\"input\":\"q\",\"outputs\":[\"1\"],\"others\":{}}\n{\"index\":10,\"pred\":\"p\",\"input\":\"q\",\"outputs\":[\"2\"],\"others\":{}}"))
	f.Add([]byte("\n\n"))
	data := samples(3)                            // indices 0, 10, 10
	path := filepath.Join(f.TempDir(), "p.jsonl") // fuzz calls in one process run one at a time
	f.Fuzz(func(t *testing.T, content []byte) {
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := OpenPredictions(path, data)
		if err != nil {
			if raw, _ := os.ReadFile(path); string(raw) != string(content) {
				t.Fatal("a refused file was modified")
			}
			return
		}
		defer w.Close()
		raw, _ := os.ReadFile(path)
		if len(raw) > 0 && raw[len(raw)-1] != '\n' {
			t.Fatalf("torn tail kept: %q", raw)
		}
		if !strings.HasPrefix(string(content), string(raw)) {
			t.Fatal("resume changed more than the torn tail")
		}
		preds, err := ReadPredictions(path)
		if err != nil || len(preds) != w.Len() || w.Len()+len(w.Pending()) != len(data) {
			t.Fatalf("after resume: %d predictions, Len %d, %d pending, %v", len(preds), w.Len(), len(w.Pending()), err)
		}
		for _, s := range w.Pending() {
			if err := w.Write(NewPrediction(&s, "p")); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Write(NewPrediction(&data[0], "p")); err == nil {
			t.Fatal("a sample was predicted twice")
		}
	})
}
