package grid

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Shard is part Index of Count (0 ≤ Index < Count) of a grid.
type Shard struct{ Index, Count int }

// All is the whole grid as one shard.
var All = Shard{0, 1}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// maxShards bounds a shard count (Slurm's MaxArraySize is 1001 by default,
// Kubernetes' Indexed Jobs allow 100000 completions).
const maxShards = 100000

// ParseShard reads "i/N".
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("%q is not i/N (shard i of N, 0 ≤ i < N)", s)
	}
	return checkShard(i, n)
}

// sharesPrefill reports whether the cells of c's workload run together
// from one prefill: task samples, and perplexity windows prefilled with
// more than one token.
func (c Cell) sharesPrefill() bool {
	w := c.Config.Workload
	return w.Kind == "task" || w.Prefill > 1
}

func checkShard(i, n int) (Shard, error) {
	switch {
	case n < 1 || n > maxShards:
		return Shard{}, fmt.Errorf("shard count %d is not in 1..%d", n, maxShards)
	case i < 0 || i >= n:
		return Shard{}, fmt.Errorf("shard index %d is not in 0..%d (of %d shards)", i, n-1, n)
	}
	return Shard{i, n}, nil
}

// ShardFromEnv reads the shard a cluster engine gives an array task:
// Slurm's SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT (or, for arrays
// such as --array=1-8, SLURM_ARRAY_TASK_MIN and _MAX: index ID−MIN of
// MAX−MIN+1), or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX with
// count (the Job's completions, given by flag since the pod is not told).
// ok is false when no engine variable is set.
func ShardFromEnv(getenv func(string) string, count int) (s Shard, ok bool, err error) {
	num := func(name string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(getenv(name)))
		if err != nil {
			return 0, fmt.Errorf("$%s=%q is not an integer", name, getenv(name))
		}
		return n, nil
	}
	switch {
	case getenv("SLURM_ARRAY_TASK_ID") != "":
		s, err := slurmShard(getenv, num)
		if err != nil {
			return s, true, fmt.Errorf("from $SLURM_ARRAY_TASK_*: %w", err)
		}
		return s, true, nil
	case getenv("JOB_COMPLETION_INDEX") != "":
		id, err := num("JOB_COMPLETION_INDEX")
		if err != nil {
			return s, true, err
		}
		if count < 1 {
			return s, true, fmt.Errorf("$JOB_COMPLETION_INDEX=%d is set but the shard count is not: pass --shards N (the Job's completions)", id)
		}
		if s, err = checkShard(id, count); err != nil {
			return s, true, fmt.Errorf("from $JOB_COMPLETION_INDEX and --shards: %w", err)
		}
		return s, true, nil
	}
	return s, false, nil
}

// slurmShard is the shard of a Slurm array task: ID−MIN of MAX−MIN+1 when
// MIN and MAX are set (checked against COUNT and a step of 1), else ID of
// COUNT.
func slurmShard(getenv func(string) string, num func(string) (int, error)) (Shard, error) {
	id, err := num("SLURM_ARRAY_TASK_ID")
	if err != nil {
		return Shard{}, err
	}
	if getenv("SLURM_ARRAY_TASK_MIN") == "" || getenv("SLURM_ARRAY_TASK_MAX") == "" {
		count, err := num("SLURM_ARRAY_TASK_COUNT")
		if err != nil {
			return Shard{}, err
		}
		return checkShard(id, count)
	}
	lo, err := num("SLURM_ARRAY_TASK_MIN")
	if err != nil {
		return Shard{}, err
	}
	hi, err := num("SLURM_ARRAY_TASK_MAX")
	if err != nil {
		return Shard{}, err
	}
	if step := getenv("SLURM_ARRAY_TASK_STEP"); step != "" && step != "1" {
		return Shard{}, fmt.Errorf("$SLURM_ARRAY_TASK_STEP=%s: submit the array with step 1 (--array=0-N)", step)
	}
	if getenv("SLURM_ARRAY_TASK_COUNT") != "" {
		if c, err := num("SLURM_ARRAY_TASK_COUNT"); err != nil || c != hi-lo+1 {
			return Shard{}, fmt.Errorf("$SLURM_ARRAY_TASK_COUNT=%s but MIN..MAX is %d..%d: submit a contiguous array (--array=0-%d)",
				getenv("SLURM_ARRAY_TASK_COUNT"), lo, hi, hi-lo)
		}
	}
	return checkShard(id-lo, hi-lo+1)
}

// Deal gives every cell of the plan to one shard and returns, per shard,
// the cells' indices in plan order. Cells of one workload that share a
// prefill stay together, unless there are fewer such workloads than
// shards: then each is cut into ceil(shards/workloads)
// parts (its cells dealt round-robin), so no shard idles for want of
// work. Units are dealt by estimated cost, largest first, each to the
// least loaded shard (ties: plan order, lowest shard), so shards never
// overlap and the deal depends on the plan alone.
func (p *Plan) Deal(shards int) [][]int {
	type unit struct {
		cells []int
		cost  float64
	}
	var units []unit
	groups := map[string][]int{}
	var order []string
	for _, c := range p.Cells {
		if !c.sharesPrefill() {
			units = append(units, unit{[]int{c.Index}, c.Cost})
			continue
		}
		if _, ok := groups[c.Group]; !ok {
			order = append(order, c.Group)
		}
		groups[c.Group] = append(groups[c.Group], c.Index)
	}
	parts := 1 // groups are the workloads with a shared prefill
	if len(order) > 0 && len(order) < shards {
		parts = (shards + len(order) - 1) / len(order)
	}
	for _, g := range order {
		cells := groups[g]
		k := min(parts, len(cells))
		for part := range k {
			var u unit
			for i := part; i < len(cells); i += k {
				u.cells = append(u.cells, cells[i])
			}
			u.cost = p.Cells[u.cells[0]].Cost
			units = append(units, u)
		}
	}
	for i := range units {
		if len(units[i].cells) > 1 {
			// a shared prefill, then one decode per cell
			units[i].cost *= 1 + 0.25*float64(len(units[i].cells)-1)
		}
	}
	byCost := make([]int, len(units))
	for i := range byCost {
		byCost[i] = i
	}
	slices.SortStableFunc(byCost, func(a, b int) int {
		switch {
		case units[a].cost > units[b].cost:
			return -1
		case units[a].cost < units[b].cost:
			return 1
		}
		return 0
	})
	load := make([]float64, shards)
	out := make([][]int, shards)
	for _, u := range byCost {
		best := 0
		for s := 1; s < shards; s++ {
			if load[s] < load[best] {
				best = s
			}
		}
		load[best] += units[u].cost
		out[best] = append(out[best], units[u].cells...)
	}
	for _, cells := range out {
		slices.Sort(cells)
	}
	return out
}
