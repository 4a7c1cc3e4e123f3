package main

import (
	"fmt"
	"io"

	"starc/attention"
	"starc/pim"
)

// hwRow is the attention hardware cost of producing one generated token.
type hwRow struct {
	Index   int `json:"index"` // generated token index (0 = produced by the prefill)
	TokenID int `json:"token_id"`
	Context int `json:"context"` // tokens in the KV cache when it was produced
	pim.StepReport
}

// hwReport collects, per generated token, the device cost of the forward
// pass that produced it (token 0: the prefill), and prints them as a table
// with a summary once the text is out, so the two never interleave on a
// terminal.
type hwReport struct {
	w      io.Writer
	device *attention.PIM
	rows   []hwRow
}

func newHWReport(w io.Writer, device *attention.PIM) *hwReport {
	return &hwReport{w: w, device: device, rows: []hwRow{}} // never JSON null
}

// token closes the device's accounting of the pass that produced id.
func (h *hwReport) token(id, context int) {
	h.rows = append(h.rows, hwRow{Index: len(h.rows), TokenID: id, Context: context, StepReport: h.device.EndStep()})
}

func overFetch(r pim.StepReport) float64 {
	if r.BytesFetched == 0 {
		return 0
	}
	return 1 - float64(r.BytesUsed)/float64(r.BytesFetched)
}

// line prints the decode tokens' mean cost on one line: what generate
// prints after its stats line when the per-token table was not asked for.
func (h *hwReport) line() {
	if len(h.rows) < 2 {
		return
	}
	var sum pim.StepReport
	for _, r := range h.rows[1:] {
		sum.Add(r.StepReport)
	}
	n := float64(len(h.rows) - 1)
	fmt.Fprintf(h.w, "hw: %s, per generated token: PIM attention %.0f ns, %.0f nJ, %.0f row activations, over-fetch %.1f%% (mean of %d; --hw for each token)\n",
		h.device.Device().Spec().Name, sum.LatencyNS/n, sum.EnergyPJ/1e3/n, float64(sum.RowActivations)/n, 100*overFetch(sum), len(h.rows)-1)
}

// summary prints the per-token table and the decode tokens' means (the
// prefill row is left out of the means).
func (h *hwReport) summary() {
	fmt.Fprintf(h.w, "hw: KV cache in %s; per generated token, the attention of the pass that produced it\n", h.device.Device().Spec().Name)
	fmt.Fprintf(h.w, "hw: %5s %7s %12s %11s %9s %11s %11s %9s\n", "token", "context", "latency_ns", "energy_nJ", "row_acts", "fetched_KB", "used_KB", "overfetch")
	for _, r := range h.rows {
		label := fmt.Sprint(r.Index)
		if r.Index == 0 {
			label = "pre"
		}
		fmt.Fprintf(h.w, "hw: %5s %7d %12.0f %11.2f %9d %11.1f %11.1f %8.1f%%\n", label, r.Context, r.LatencyNS, r.EnergyPJ/1e3,
			r.RowActivations, float64(r.BytesFetched)/1024, float64(r.BytesUsed)/1024, 100*overFetch(r.StepReport))
	}
	if len(h.rows) < 2 {
		return
	}
	var sum pim.StepReport
	for _, r := range h.rows[1:] {
		sum.Add(r.StepReport)
	}
	n := float64(len(h.rows) - 1)
	fmt.Fprintf(h.w, "hw: mean over %d decode tokens: attention %.0f ns, %.2f nJ, %.0f row activations, %.1f KB fetched for %.1f KB used (over-fetch %.1f%%)\n",
		len(h.rows)-1, sum.LatencyNS/n, sum.EnergyPJ/1e3/n, float64(sum.RowActivations)/n,
		float64(sum.BytesFetched)/1024/n, float64(sum.BytesUsed)/1024/n, 100*overFetch(sum))
}
