package attention

import (
	"slices"

	"starc/pim"
)

// TraceRecorder turns the Engine's decode-time reads into a pim access
// trace: per decode step, per layer and KV head, the context length and the
// rows (TokensPerRow consecutive slots) read with the number of selected
// tokens in each. Register Observe with Engine.OnRead.
type TraceRecorder struct {
	trace pim.Trace
	rows  []int
}

// NewTraceRecorder starts an empty trace for cfg's shape and layout name.
func NewTraceRecorder(cfg Config, tokensPerRow int, layout string) *TraceRecorder {
	return &TraceRecorder{trace: pim.Trace{Header: pim.TraceHeader{
		Format: "starc-pim-trace", Version: 1, Layers: cfg.Layers, KVHeads: cfg.KVHeads, QueryHeads: cfg.QueryHeads,
		HeadDim: cfg.HeadDim, MaxTokens: cfg.MaxTokens, TokensPerRow: tokensPerRow, Layout: layout}}}
}

// Observe is an Engine.OnRead callback. A read of layer 0, KV head 0
// starts a new decode step.
func (r *TraceRecorder) Observe(layer, kvHead, n int, slots []int) {
	t := &r.trace
	if layer == 0 && kvHead == 0 || len(t.Steps) == 0 {
		t.Steps = append(t.Steps, pim.TraceStep{Step: len(t.Steps)})
	}
	rows := r.rows[:0]
	for _, s := range slots {
		rows = append(rows, s/t.Header.TokensPerRow)
	}
	slices.Sort(rows)
	r.rows = rows
	read := pim.TraceRead{Layer: layer, KVHead: kvHead, Context: n}
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j] == rows[i] {
			j++
		}
		read.Rows = append(read.Rows, pim.RowCount{Row: rows[i], Tokens: j - i})
		i = j
	}
	st := &t.Steps[len(t.Steps)-1]
	st.Reads = append(st.Reads, read)
}

// Trace returns the trace recorded so far.
func (r *TraceRecorder) Trace() *pim.Trace { return &r.trace }
