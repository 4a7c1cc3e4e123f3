package pim

import (
	"bytes"
	"testing"
)

// FuzzReadTrace: any input either parses into a trace that writes back and
// re-reads to the same trace, or fails with an error; never a panic.
func FuzzReadTrace(f *testing.F) {
	f.Add([]byte(`{"format":"starc-pim-trace","version":1,"layers":2,"kv_heads":1,"query_heads":2,"head_dim":64,"max_tokens":64,"tokens_per_row":16,"layout":"gqa"}
{"step":0,"reads":[{"layer":0,"kv_head":0,"context":20,"rows":[[0,16],[1,4]]},{"layer":1,"kv_head":0,"context":20,"rows":[[1,2]]}]}
`))
	f.Add([]byte(`{"format":"starc-pim-trace","version":1}`))
	f.Add([]byte("{\"step\":0}\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ReadTrace(bytes.NewReader(data))
		if err != nil {
			return
		}
		if tr.Header.Layout != "gqa" && tr.Header.Layout != "attacc" {
			t.Fatalf("unknown layout %q accepted", tr.Header.Layout)
		}
		var buf bytes.Buffer
		if err := WriteTrace(&buf, tr); err != nil {
			t.Fatalf("a parsed trace does not write: %v", err)
		}
		again, err := ReadTrace(&buf)
		if err != nil {
			t.Fatalf("a written trace does not parse: %v", err)
		}
		if len(again.Steps) != len(tr.Steps) || again.Header != tr.Header {
			t.Fatalf("round trip changed the trace")
		}
	})
}
