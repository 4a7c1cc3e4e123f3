package grid

import (
	"slices"
	"strings"
	"testing"
)

func TestParseShard(t *testing.T) {
	tests := []struct {
		in   string
		want Shard
		err  string
	}{
		{"0/3", Shard{0, 3}, ""},
		{" 2/3 ", Shard{2, 3}, ""},
		{"3/3", Shard{}, "index 3"},
		{"-1/3", Shard{}, "index -1"},
		{"0/0", Shard{}, "count 0"},
		{"1", Shard{}, "not i/N"},
		{"a/b", Shard{}, "not i/N"},
	}
	for _, tc := range tests {
		got, err := ParseShard(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseShard(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// The shard comes from Slurm's array variables (ID and COUNT, or ID
// relative to MIN..MAX) or from a Kubernetes completion index with the
// count given by flag.
func TestShardFromEnv(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		count int
		want  Shard
		ok    bool
		err   string
	}{
		{"none", nil, 0, Shard{}, false, ""},
		{"slurm count", map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4"}, 0, Shard{2, 4}, true, ""},
		{"slurm min max", map[string]string{"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "3", "SLURM_ARRAY_TASK_MAX": "6", "SLURM_ARRAY_TASK_COUNT": "4"}, 0, Shard{2, 4}, true, ""},
		{"slurm step", map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "4", "SLURM_ARRAY_TASK_STEP": "2"}, 0, Shard{}, true, "STEP"},
		{"slurm sparse array", map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "9", "SLURM_ARRAY_TASK_COUNT": "3"}, 0, Shard{}, true, "contiguous"},
		{"slurm id past count", map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4"}, 0, Shard{}, true, "index 4"},
		{"slurm garbage", map[string]string{"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "4"}, 0, Shard{}, true, "SLURM_ARRAY_TASK_ID"},
		{"kubernetes", map[string]string{"JOB_COMPLETION_INDEX": "1"}, 3, Shard{1, 3}, true, ""},
		{"kubernetes without count", map[string]string{"JOB_COMPLETION_INDEX": "1"}, 0, Shard{}, true, "--shards"},
		{"kubernetes index past count", map[string]string{"JOB_COMPLETION_INDEX": "3"}, 3, Shard{}, true, "index 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := ShardFromEnv(func(k string) string { return tc.env[k] }, tc.count)
			if ok != tc.ok {
				t.Errorf("ok = %v, want %v", ok, tc.ok)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("got %v, %v; want an error with %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// fakePlan is a plan of n cells: perplexity cells alone, task cells in
// groups of three (one workload, three methods).
func fakePlan(ppl, taskGroups int) *Plan {
	p := &Plan{Spec: &Spec{Name: "fake"}}
	for i := range ppl {
		p.Cells = append(p.Cells, Cell{ID: string(rune('a' + i)), Index: len(p.Cells), Group: "p" + string(rune('a'+i)),
			Config: CellConfig{Workload: Workload{Kind: "ppl"}}, Cost: float64(1 + i%4)})
	}
	for g := range taskGroups {
		for range 3 {
			p.Cells = append(p.Cells, Cell{Index: len(p.Cells), Group: "t" + string(rune('a'+g)),
				Config: CellConfig{Workload: Workload{Kind: "task"}}, Cost: float64(2 + g%3)})
		}
	}
	return p
}

// Dealt to N shards, every cell is in exactly one shard, the cells of a
// task workload share their shard while there are at least as many task
// workloads as shards, no shard idles while there are cells enough, and
// the deal is the same every time.
func TestDealCoversDisjointDeterministic(t *testing.T) {
	p := fakePlan(13, 5)
	for _, n := range []int{1, 2, 3, 7, 40} {
		deal := p.Deal(n)
		if len(deal) != n {
			t.Fatalf("%d shards: %d lists", n, len(deal))
		}
		owner := map[int]int{}
		for s, cells := range deal {
			if !slices.IsSorted(cells) {
				t.Errorf("%d shards: shard %d cells %v not in plan order", n, s, cells)
			}
			for _, c := range cells {
				if o, dup := owner[c]; dup {
					t.Errorf("%d shards: cell %d in shards %d and %d", n, c, o, s)
				}
				owner[c] = s
			}
		}
		if len(owner) != len(p.Cells) {
			t.Errorf("%d shards: %d of %d cells dealt", n, len(owner), len(p.Cells))
		}
		for _, c := range p.Cells {
			for _, d := range p.Cells {
				if n <= 5 && c.Config.Workload.Kind == "task" && c.Group == d.Group && owner[c.Index] != owner[d.Index] {
					t.Errorf("%d shards: task group %s split", n, c.Group)
				}
			}
		}
		if again := p.Deal(n); !slices.EqualFunc(deal, again, slices.Equal) {
			t.Errorf("%d shards: two deals differ", n)
		}
	}
	// A grid of one task workload of 9 cells on 3 shards: 3 cells each.
	one := fakePlan(0, 1)
	for range 6 {
		one.Cells = append(one.Cells, Cell{Index: len(one.Cells), Group: "ta", Config: CellConfig{Workload: Workload{Kind: "task"}}, Cost: 2})
	}
	for s, cells := range one.Deal(3) {
		if len(cells) != 3 {
			t.Errorf("one workload of 9 cells: shard %d/3 got %v", s, cells)
		}
	}
	for _, n := range []int{3, 7} {
		for s, cells := range p.Deal(n) {
			if len(cells) == 0 {
				t.Errorf("shard %d/%d got no cell", s, n)
			}
		}
	}
}
