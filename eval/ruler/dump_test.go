package ruler

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestDumpForComparison writes samples in RULER's data layout for
// testdata/compare_with_ruler.py, when STARC_RULER_DUMP names a directory
// (lengths and samples as RULER's reference runs: 1024 × 2, 4096 × 10).
func TestDumpForComparison(t *testing.T) {
	dir := os.Getenv("STARC_RULER_DUMP")
	if dir == "" {
		t.Skip("STARC_RULER_DUMP is not set")
	}
	tok := smolLM2(t)
	for _, run := range []struct{ length, samples int }{{1024, 2}, {4096, 10}} {
		for _, task := range Tasks() {
			gs, err := Generate(context.Background(), tok, Options{Task: task.Name, Length: run.length, Samples: run.samples, Seed: 42})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, strconv.Itoa(run.length), "data", task.Name, "validation.jsonl")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			var out []byte
			for _, g := range gs {
				b, err := json.Marshal(g.Sample)
				if err != nil {
					t.Fatal(err)
				}
				out = append(append(out, b...), '\n')
			}
			if err := os.WriteFile(path, out, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
