package system

import (
	"bytes"
	"slices"
	"testing"

	"starc/pim"
)

func TestBudgetTableFromTrace(t *testing.T) {
	rows := func(ids ...int) []pim.RowCount {
		var out []pim.RowCount
		for _, r := range ids {
			out = append(out, pim.RowCount{Row: r, Tokens: 3})
		}
		return out
	}
	tr := &pim.Trace{Header: pim.TraceHeader{TokensPerRow: 16}, Steps: []pim.TraceStep{
		{Step: 0, Reads: []pim.TraceRead{
			{Layer: 0, Rows: rows(0, 1, 2, 3, 4, 5, 6, 7)}, // dense layer: left out
			{Layer: 2, Rows: rows(0, 4)},
			{Layer: 3, Rows: rows(1, 2, 3, 9)},
		}},
		{Step: 1, Reads: []pim.TraceRead{{Layer: 2, Rows: rows(5)}}},
	}}
	got, err := BudgetTableFromTrace(tr, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Step 0: (2 + 4 rows) / 2 reads × 16 = 48; step 1: 1 row × 16.
	if want := []int{48, 16}; !slices.Equal(got, want) {
		t.Fatalf("table = %v, want %v", got, want)
	}
	var buf bytes.Buffer
	if err := WriteBudgetTable(&buf, got); err != nil {
		t.Fatal(err)
	}
	back, err := ReadBudgetTable(&buf, "roundtrip")
	if err != nil || !slices.Equal(back, got) {
		t.Fatalf("round trip = %v, %v", back, err)
	}
	if _, err := BudgetTableFromTrace(tr, 4); err == nil {
		t.Error("a step without sparse-layer reads gave no error")
	}
}
