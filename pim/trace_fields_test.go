package pim

import (
	"errors"
	"strings"
	"testing"
)

// Every field of a trace line is required: an absent layer must not read
// as layer 0, an absent layout as a layout, and the layout must be one this
// package writes.
func TestReadTraceRequiresEveryField(t *testing.T) {
	hdr := `{"format":"starc-pim-trace","version":1,"layers":2,"kv_heads":1,"query_heads":1,"head_dim":64,"max_tokens":64,"tokens_per_row":16,"layout":"gqa"}` + "\n"
	read := `{"layer":1,"kv_head":0,"context":16,"rows":[[0,1]]}`
	step := func(reads string) string { return hdr + `{"step":0,"reads":[` + reads + `]}` + "\n" }
	cases := []struct {
		name, in, want string
	}{
		{"read without layer", step(strings.Replace(read, `"layer":1,`, ``, 1)), `line 2: read: field "layer" missing`},
		{"read without kv_head", step(strings.Replace(read, `"kv_head":0,`, ``, 1)), `field "kv_head" missing`},
		{"read with null context", step(strings.Replace(read, `"context":16`, `"context":null`, 1)), `field "context" missing (or null)`},
		{"read without rows", step(strings.Replace(read, `,"rows":[[0,1]]`, ``, 1)), `field "rows" missing`},
		{"step without reads", hdr + `{"step":0}` + "\n", `line 2: step: field "reads" missing`},
		{"step without step", hdr + `{"reads":[]}` + "\n", `field "step" missing`},
		{"header without layout", strings.Replace(hdr, `,"layout":"gqa"`, ``, 1), `line 1 (header): header: field "layout" missing`},
		{"header without layers", strings.Replace(hdr, `"layers":2,`, ``, 1), `field "layers" missing`},
		{"unknown layout", strings.Replace(hdr, `"layout":"gqa"`, `"layout":"diagonal"`, 1), `layout "diagonal" is unknown (want gqa or attacc)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadTrace(strings.NewReader(c.in))
			if !errors.Is(err, ErrTrace) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrTrace containing %q", err, c.want)
			}
		})
	}
	for _, layout := range []string{"gqa", "attacc"} {
		in := strings.Replace(step(read), `"layout":"gqa"`, `"layout":"`+layout+`"`, 1)
		if _, err := ReadTrace(strings.NewReader(in)); err != nil {
			t.Errorf("layout %s: %v", layout, err)
		}
	}
}

// A step without reads and a read without rows write as [] and read back.
func TestWriteTraceEmptyListsReadBack(t *testing.T) {
	tr := &Trace{
		Header: TraceHeader{Format: traceFormat, Version: traceVersion, Layers: 1, KVHeads: 1, QueryHeads: 1, HeadDim: 64,
			MaxTokens: 16, TokensPerRow: 16, Layout: "gqa"},
		Steps: []TraceStep{{Step: 0}, {Step: 1, Reads: []TraceRead{{Layer: 0, KVHead: 0, Context: 3}}}},
	}
	var b strings.Builder
	if err := WriteTrace(&b, tr); err != nil {
		t.Fatal(err)
	}
	back, err := ReadTrace(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("%v in\n%s", err, b.String())
	}
	if len(back.Steps) != 2 || len(back.Steps[1].Reads) != 1 || len(back.Steps[1].Reads[0].Rows) != 0 {
		t.Errorf("read back %+v", back.Steps)
	}
}
