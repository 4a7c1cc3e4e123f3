package system

import (
	"bufio"
	"fmt"
	"io"
	"math"

	"starc/pim"
)

// BudgetTableFromTrace turns a recorded access trace into the STARC
// artifact's kv_budget table (starc.md §4.5, §6.4): for each decode step,
// the mean over the reads of layers ≥ fromLayer (every KV head) of
// TokensPerRow × rows activated, rounded to the nearest token. Steps with
// no such read are an error, so a table never silently holds zeros.
func BudgetTableFromTrace(t *pim.Trace, fromLayer int) ([]int, error) {
	if len(t.Steps) == 0 {
		return nil, fmt.Errorf("system: trace has no decode steps")
	}
	table := make([]int, 0, len(t.Steps))
	for _, st := range t.Steps {
		rows, reads := 0, 0
		for _, r := range st.Reads {
			if r.Layer < fromLayer {
				continue
			}
			rows += len(r.Rows)
			reads++
		}
		if reads == 0 {
			return nil, fmt.Errorf("system: trace step %d has no reads at layer ≥ %d", st.Step, fromLayer)
		}
		b := int(math.Round(float64(t.Header.TokensPerRow) * float64(rows) / float64(reads)))
		table = append(table, max(b, 1))
	}
	return table, nil
}

// WriteBudgetTable writes table in the artifact's format: one integer per line.
func WriteBudgetTable(w io.Writer, table []int) error {
	bw := bufio.NewWriter(w)
	for _, b := range table {
		fmt.Fprintf(bw, "%d\n", b)
	}
	return bw.Flush()
}
