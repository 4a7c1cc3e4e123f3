package grid

import (
	"math"
	"strconv"
	"testing"

	"starc/eval/taskrun"
)

// A task run becomes one grid row per (task, length, cell), done only when
// every wanted sample is answered, and RULER's average per length and cell
// only when all the run's tasks are done there: the mean of the task rows.
func TestFromTaskRunAveragesCompleteLengths(t *testing.T) {
	rows := []taskrun.Row{
		{Task: "vt", Length: 1024, Method: "full", Score: 80, Samples: 2, RowsPerHead: 60, PIMEnergyNJ: 100},
		{Task: "cwe", Length: 1024, Method: "full", Score: 40, Samples: 2, RowsPerHead: 64, PIMEnergyNJ: 120},
		{Task: "vt", Length: 1024, Method: "starc", Budget: 64, Score: 50, Samples: 2, RowsPerHead: 8, PIMEnergyNJ: 30},
		{Task: "cwe", Length: 1024, Method: "starc", Budget: 64, Score: 0, Samples: 1, RowsPerHead: 9, PIMEnergyNJ: 40},
		{Task: "vt", Length: 2048, Method: "full", Score: 60, Samples: 2},
	}
	wanted := func(taskrun.Row) int { return 2 }
	table := FromTaskRun("run", "m", "ruler", "pim", wanted, []string{"vt", "cwe"}, rows)
	if len(table.Rows) != len(rows)+1 {
		t.Fatalf("%d rows, want the %d task rows and one average (full at 1024): %+v", len(table.Rows), len(rows), table.Rows)
	}
	for i, r := range table.Rows[:len(rows)] {
		want := "done"
		if rows[i].Samples < 2 {
			want = "partial"
		}
		if r.Status != want || r.Workload != rows[i].Task+"@"+strconv.Itoa(rows[i].Length) || r.Kind != "task" || r.Metric != "ruler" {
			t.Errorf("row %d: %+v, want status %s and workload %s@%d", i, r, want, rows[i].Task, rows[i].Length)
		}
	}
	avg := table.Rows[len(rows)]
	if avg.Workload != "RULER average@1024" || avg.Method != "full" || avg.Status != "done" || avg.Task != "" {
		t.Fatalf("average row %+v", avg)
	}
	if avg.Score != 60 || avg.RowsPerHead != 62 || math.Abs(avg.PIMEnergyNJ-110) > 1e-12 || avg.Samples != 4 || avg.SamplesWanted != 4 {
		t.Errorf("average row %+v, want score 60, rows 62, energy 110, 4 of 4 samples", avg)
	}
}
