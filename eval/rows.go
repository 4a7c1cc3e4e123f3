package eval

import "slices"

// RowCounter turns the slots each (layer, KV head) read at each decode step
// into DRAM row activations under the paper's counting rule (starc.md
// §4.5): a row holds RowTokens consecutive slots (16 K or V vectors of a
// bank group row), a read activates every distinct row holding a selected
// slot, and over-fetch is the share of slots in activated rows that were
// not selected. Only layers at or above FromLayer count (the sparse ones).
type RowCounter struct {
	RowTokens int
	FromLayer int

	Reads        int64 // (step, layer, KV head) reads observed
	Rows         int64 // distinct K rows activated, summed (V rows are the same count)
	TokensRead   int64 // slots read, summed
	ContextTotal int64 // tokens cached at each read, summed
	rows         []int
}

// Observe is an attention.Engine OnRead (per KV head: the union a GQA
// read serves) or OnSelect (per query head: the paper's rule) callback.
func (c *RowCounter) Observe(layer, _ int, n int, slots []int) {
	if layer < c.FromLayer {
		return
	}
	rows := c.rows[:0]
	for _, s := range slots {
		rows = append(rows, s/c.RowTokens)
	}
	slices.Sort(rows)
	c.rows = rows
	c.Rows += int64(len(slices.Compact(rows)))
	c.Reads++
	c.TokensRead += int64(len(slots))
	c.ContextTotal += int64(n)
}

// Reset zeroes the counts.
func (c *RowCounter) Reset() { c.Reads, c.Rows, c.TokensRead, c.ContextTotal = 0, 0, 0, 0 }

// RowsPerRead is the mean number of K rows one (layer, KV head) activates per step.
func (c *RowCounter) RowsPerRead() float64 { return ratio(c.Rows, c.Reads) }

// OverFetch is the share of slots in activated rows that were not selected.
func (c *RowCounter) OverFetch() float64 {
	if c.Rows == 0 {
		return 0
	}
	return 1 - float64(c.TokensRead)/float64(c.Rows*int64(c.RowTokens))
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
