package grid

import (
	"fmt"
	"strconv"

	"starc/eval/taskrun"
)

// FromTaskRun is the table of a `starc eval` run, so that the grid's
// figures draw it: one row per (task, length, depth, cell) of the scored
// rows, done when the cell answered every one of the wanted samples and
// partial otherwise, and, per length and cell, RULER's average over the
// tasks (workload "RULER average@<length>"), present only when every task
// of the run is done at that length for that cell. wantedOf gives the
// samples a row should have; metric is the scorer ("ruler" or "starc"),
// kv where the KV cache lived.
func FromTaskRun(name, model, metric, kv string, wantedOf func(taskrun.Row) int, tasks []string, rows []taskrun.Row) *Table {
	t := &Table{Grid: name}
	type avgKey struct {
		length int
		method string
		budget int
	}
	type avg struct {
		row   Row
		tasks map[string]int // task -> rows of it (one per depth)
		n     int
	}
	avgs := map[avgKey]*avg{}
	var order []avgKey
	for _, r := range rows {
		wanted := wantedOf(r)
		workload := r.Task + "@" + strconv.Itoa(r.Length)
		id := fmt.Sprintf("%s/%s/%s-%d", name, workload, r.Method, r.Budget)
		if r.Depth != nil {
			id += fmt.Sprintf("/depth-%d", *r.Depth)
		}
		row := Row{ID: id, Status: "done", Model: model, Workload: workload, Kind: "task", Task: r.Task,
			Length: r.Length, Depth: r.Depth, Method: r.Method, Budget: r.Budget, KV: kv, Metric: metric,
			Score: r.Score, Samples: r.Samples, SamplesWanted: wanted, Nulls: r.Nulls,
			TokensPerHead: r.TokensPerHead, RowsPerHead: r.RowsPerHead, PIMLatencyNS: r.PIMLatencyNS,
			PIMEnergyNJ: r.PIMEnergyNJ, PIMRowActivations: r.PIMRowActivations}
		if r.Samples < wanted {
			row.Status = "partial"
			row.Detail = fmt.Sprintf("%d of %d samples answered", r.Samples, wanted)
		}
		t.Rows = append(t.Rows, row)
		if row.Status != "done" {
			continue
		}
		k := avgKey{r.Length, r.Method, r.Budget}
		a, ok := avgs[k]
		if !ok {
			a = &avg{tasks: map[string]int{}, row: Row{
				ID: fmt.Sprintf("%s/ruler-average@%d/%s-%d", name, r.Length, r.Method, r.Budget), Status: "done",
				Model: model, Workload: "RULER average@" + strconv.Itoa(r.Length), Kind: "task", Length: r.Length,
				Method: r.Method, Budget: r.Budget, KV: kv, Metric: metric}}
			avgs[k] = a
			order = append(order, k)
		}
		a.tasks[r.Task]++
		a.n++
		a.row.Score += r.Score
		a.row.Samples += r.Samples
		a.row.SamplesWanted += wanted
		a.row.Nulls += r.Nulls
		a.row.TokensPerHead += r.TokensPerHead
		a.row.RowsPerHead += r.RowsPerHead
		a.row.PIMLatencyNS += r.PIMLatencyNS
		a.row.PIMEnergyNJ += r.PIMEnergyNJ
		a.row.PIMRowActivations += r.PIMRowActivations
	}
	for _, k := range order {
		a := avgs[k]
		complete := len(tasks) > 0
		for _, task := range tasks {
			complete = complete && a.tasks[task] > 0
		}
		if !complete {
			continue
		}
		n := float64(a.n)
		r := a.row
		r.Score /= n
		r.TokensPerHead /= n
		r.RowsPerHead /= n
		r.PIMLatencyNS /= n
		r.PIMEnergyNJ /= n
		r.PIMRowActivations /= n
		t.Rows = append(t.Rows, r)
	}
	return t
}
