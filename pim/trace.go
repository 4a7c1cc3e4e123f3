package pim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Access trace format (JSON lines, one object per line):
//
//	line 1: TraceHeader  {"format":"starc-pim-trace","version":1,"layers":30,"kv_heads":3,
//	                      "query_heads":9,"head_dim":64,"max_tokens":2048,"tokens_per_row":16,"layout":"gqa"}
//	then one TraceStep per decode step, in order:
//	        {"step":0,"reads":[{"layer":0,"kv_head":0,"context":513,"rows":[[0,16],[1,16],[32,3]]}, ...]}
//
// A row is a group of tokens_per_row consecutive slots (row = slot / 16):
// STARC's row-activation unit and AttAcc's budget granularity; in the device
// one such row is one column pair read by 2 all-bank MACs in each of the 16
// partitions, and 16 of them share one DRAM row (see KVStore.SlotRow). Each
// rows entry is [row, selected tokens in that row], rows ascending and
// distinct, every row < ceil(context/16). context is the highest written slot
// + 1 of that (layer, KV head) when it was read. Replaying a read in
// AttAcc's packed model: R = len(rows) token groups (ClosedFormAttention).

const (
	traceFormat  = "starc-pim-trace"
	traceVersion = 1
)

// TraceHeader is the first line of a trace.
type TraceHeader struct {
	Format       string `json:"format"`
	Version      int    `json:"version"`
	Layers       int    `json:"layers"`
	KVHeads      int    `json:"kv_heads"`
	QueryHeads   int    `json:"query_heads"`
	HeadDim      int    `json:"head_dim"`
	MaxTokens    int    `json:"max_tokens"`
	TokensPerRow int    `json:"tokens_per_row"`
	Layout       string `json:"layout"`
}

// RowCount is one selected row and how many of its slots were selected;
// it encodes as the JSON pair [row, tokens].
type RowCount struct {
	Row, Tokens int
}

// MarshalJSON implements json.Marshaler.
func (r RowCount) MarshalJSON() ([]byte, error) { return json.Marshal([2]int{r.Row, r.Tokens}) }

// UnmarshalJSON implements json.Unmarshaler.
func (r *RowCount) UnmarshalJSON(b []byte) error {
	var p [2]int
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("row entry must be [row, tokens]: %w", err)
	}
	r.Row, r.Tokens = p[0], p[1]
	return nil
}

// TraceRead is one Read of one (layer, KV head).
type TraceRead struct {
	Layer   int        `json:"layer"`
	KVHead  int        `json:"kv_head"`
	Context int        `json:"context"`
	Rows    []RowCount `json:"rows"`
}

// UnmarshalJSON implements json.Unmarshaler: every field is required (an
// absent "layer" must not read as layer 0).
func (r *TraceRead) UnmarshalJSON(b []byte) error {
	var raw struct {
		Layer   *int        `json:"layer"`
		KVHead  *int        `json:"kv_head"`
		Context *int        `json:"context"`
		Rows    *[]RowCount `json:"rows"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if err := requireFields("read", []string{"layer", "kv_head", "context", "rows"},
		raw.Layer != nil, raw.KVHead != nil, raw.Context != nil, raw.Rows != nil); err != nil {
		return err
	}
	*r = TraceRead{Layer: *raw.Layer, KVHead: *raw.KVHead, Context: *raw.Context, Rows: *raw.Rows}
	return nil
}

// MarshalJSON implements json.Marshaler: no rows encode as [], not null,
// so what WriteTrace writes ReadTrace reads.
func (r TraceRead) MarshalJSON() ([]byte, error) {
	type plain TraceRead
	if r.Rows == nil {
		r.Rows = []RowCount{}
	}
	return json.Marshal(plain(r))
}

// requireFields names the first of names whose present flag is false.
func requireFields(what string, names []string, present ...bool) error {
	for i, ok := range present {
		if !ok {
			return fmt.Errorf("%s: field %q missing (or null)", what, names[i])
		}
	}
	return nil
}

// Tokens is the number of selected tokens.
func (r TraceRead) Tokens() int {
	n := 0
	for _, x := range r.Rows {
		n += x.Tokens
	}
	return n
}

// TraceStep is one decode step.
type TraceStep struct {
	Step  int         `json:"step"`
	Reads []TraceRead `json:"reads"`
}

// UnmarshalJSON implements json.Unmarshaler: "step" and "reads" are required.
func (s *TraceStep) UnmarshalJSON(b []byte) error {
	var raw struct {
		Step  *int         `json:"step"`
		Reads *[]TraceRead `json:"reads"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if err := requireFields("step", []string{"step", "reads"}, raw.Step != nil, raw.Reads != nil); err != nil {
		return err
	}
	*s = TraceStep{Step: *raw.Step, Reads: *raw.Reads}
	return nil
}

// MarshalJSON implements json.Marshaler: no reads encode as [], not null.
func (s TraceStep) MarshalJSON() ([]byte, error) {
	type plain TraceStep
	if s.Reads == nil {
		s.Reads = []TraceRead{}
	}
	return json.Marshal(plain(s))
}

// traceLayouts are the Layout names a trace header may carry (Layout.String).
var traceLayouts = []string{"gqa", "attacc"}

// Trace is a recorded access trace.
type Trace struct {
	Header TraceHeader
	Steps  []TraceStep
}

// ErrTrace is wrapped by every ReadTrace error about the content.
var ErrTrace = errors.New("pim: bad trace")

// WriteTrace writes t in the JSON-lines format.
func WriteTrace(w io.Writer, t *Trace) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(t.Header); err != nil {
		return fmt.Errorf("pim: write trace header: %w", err)
	}
	for i := range t.Steps {
		if err := enc.Encode(&t.Steps[i]); err != nil {
			return fmt.Errorf("pim: write trace step %d: %w", t.Steps[i].Step, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("pim: write trace: %w", err)
	}
	return nil
}

// ReadTrace parses and validates a trace written by WriteTrace.
func ReadTrace(r io.Reader) (*Trace, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<28)
	t := &Trace{}
	line, header := 0, false
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		if !header {
			var err error
			if t.Header, err = decodeTraceHeader(b); err != nil {
				return nil, fmt.Errorf("%w: line %d (header): %v", ErrTrace, line, err)
			}
			if err := t.Header.validate(); err != nil {
				return nil, fmt.Errorf("%w: line %d (header): %v", ErrTrace, line, err)
			}
			header = true
			continue
		}
		var st TraceStep
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrTrace, line, err)
		}
		if err := t.Header.validateStep(&st); err != nil {
			return nil, fmt.Errorf("%w: line %d (step %d): %v", ErrTrace, line, st.Step, err)
		}
		if n := len(t.Steps); n > 0 && st.Step <= t.Steps[n-1].Step {
			return nil, fmt.Errorf("%w: line %d: step %d after step %d", ErrTrace, line, st.Step, t.Steps[n-1].Step)
		}
		t.Steps = append(t.Steps, st)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pim: read trace: line %d: %w", line+1, err)
	}
	if !header {
		return nil, fmt.Errorf("%w: empty (no header line)", ErrTrace)
	}
	return t, nil
}

// decodeTraceHeader reads a header line, requiring every field of a header
// that claims this format and version (validate names a wrong one).
func decodeTraceHeader(b []byte) (TraceHeader, error) {
	var h TraceHeader
	if err := json.Unmarshal(b, &h); err != nil || h.Format != traceFormat || h.Version != traceVersion {
		return h, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return TraceHeader{}, err
	}
	names := []string{"format", "version", "layers", "kv_heads", "query_heads", "head_dim", "max_tokens", "tokens_per_row", "layout"}
	present := make([]bool, len(names))
	for i, n := range names {
		v, ok := fields[n]
		present[i] = ok && string(v) != "null"
	}
	if err := requireFields("header", names, present...); err != nil {
		return TraceHeader{}, err
	}
	return h, nil
}

func (h TraceHeader) validate() error {
	if h.Format != traceFormat {
		return fmt.Errorf("format %q, want %q", h.Format, traceFormat)
	}
	if h.Version != traceVersion {
		return fmt.Errorf("version %d, this reader understands %d", h.Version, traceVersion)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"layers", h.Layers}, {"kv_heads", h.KVHeads}, {"query_heads", h.QueryHeads}, {"head_dim", h.HeadDim},
		{"max_tokens", h.MaxTokens}, {"tokens_per_row", h.TokensPerRow}} {
		if f.v <= 0 {
			return fmt.Errorf("%s = %d, must be > 0", f.name, f.v)
		}
	}
	if !slices.Contains(traceLayouts, h.Layout) {
		return fmt.Errorf("layout %q is unknown (want %s)", h.Layout, strings.Join(traceLayouts, " or "))
	}
	return nil
}

func (h TraceHeader) validateStep(st *TraceStep) error {
	for i, rd := range st.Reads {
		if rd.Layer < 0 || rd.Layer >= h.Layers || rd.KVHead < 0 || rd.KVHead >= h.KVHeads {
			return fmt.Errorf("read %d: layer %d, kv_head %d outside %d layers × %d KV heads", i, rd.Layer, rd.KVHead, h.Layers, h.KVHeads)
		}
		if rd.Context < 0 || rd.Context > h.MaxTokens {
			return fmt.Errorf("read %d: context %d outside [0, %d]", i, rd.Context, h.MaxTokens)
		}
		limit := ceilDiv(rd.Context, h.TokensPerRow)
		for j, rc := range rd.Rows {
			if rc.Row < 0 || rc.Row >= limit {
				return fmt.Errorf("read %d: row %d outside [0, %d) for context %d", i, rc.Row, limit, rd.Context)
			}
			if j > 0 && rc.Row <= rd.Rows[j-1].Row {
				return fmt.Errorf("read %d: rows not ascending and distinct at row %d", i, rc.Row)
			}
			if rc.Tokens <= 0 || rc.Tokens > h.TokensPerRow {
				return fmt.Errorf("read %d: row %d has %d tokens, want 1..%d", i, rc.Row, rc.Tokens, h.TokensPerRow)
			}
		}
	}
	return nil
}
