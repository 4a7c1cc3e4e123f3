package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

var benchSink []int

// BenchmarkEncode encodes whole books; MB/s is input bytes. The cold case starts every
// iteration with an empty word cache, the warm case keeps it.
func BenchmarkEncode(b *testing.B) {
	dir := sharedDir(b)
	text, err := os.ReadFile(filepath.Join(dir, "data", "pg1342_pride_and_prejudice.txt"))
	if err != nil {
		b.Fatal(err)
	}
	smol, err := Load(smolTokenizerPath(b))
	if err != nil {
		b.Fatal(err)
	}
	stories, _, _ := storiesTokenizer(b)
	// SmolLM2's vocabulary with the Llama-3 Split regex (run by regexp2) instead of the
	// hand-written GPT-2 splitter.
	data, err := os.ReadFile(smolTokenizerPath(b))
	if err != nil {
		b.Fatal(err)
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(data, &f); err != nil {
		b.Fatal(err)
	}
	f["pre_tokenizer"] = json.RawMessage(`{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":` +
		jsonString(llama3Pattern) + `},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]}`)
	if data, err = json.Marshal(f); err != nil {
		b.Fatal(err)
	}
	llama3, err := Parse("llama3-split", data)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		tok  *Tokenizer
		cold bool
	}{
		{"smollm2/pride_and_prejudice/cold", smol, true},
		{"smollm2/pride_and_prejudice/warm", smol, false},
		{"stories260K/pride_and_prejudice/cold", stories, true},
		{"llama3split/pride_and_prejudice/cold", llama3, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if c.cold {
					c.tok.model.mu.Lock()
					clear(c.tok.model.cache)
					c.tok.model.mu.Unlock()
				}
				benchSink = c.tok.Encode(string(text), EncodeOptions{ParseSpecial: true})
			}
			b.ReportMetric(float64(len(benchSink)), "tokens")
		})
	}
}
