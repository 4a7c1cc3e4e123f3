package attention

import "starc/model/kernels"

// full attends to every cached token: the oracle every other method is
// measured against.
type full struct{}

func newFull(Config) (Method, error) { return full{}, nil }

func (full) Name() string                    { return "full" }
func (full) Append(int, int, int, []float32) {}
func (full) Prepare(int, int, int, Mover)    {}
func (full) Reset()                          {}

func (full) Select(_, _ int, _ []float32, n int, dst []int) []int {
	for p := range n {
		dst = append(dst, p)
	}
	return dst
}

// attendGroup is the decode attention of every query head of KV group g
// when they all read the same rows (a dense layer, full attention, or a
// sparse method that chose every token): the rows are gathered once (if
// not consecutive) and each key and value row is read once for the whole
// group. Each head's output is attendRows', bit for bit (ScoreRows and
// WeightedRowSums compute what MatVec, Scale and WeightedRowSum compute
// query by query).
//
// Hot path: once per KV group per layer per decoded token.
func (t *attendTask) attendGroup(worker, g int) {
	e := t.e
	hd, gs := e.cfg.HeadDim, e.cfg.GroupSize()
	rows := e.rows[g*gs]
	q, out := t.q[g*gs*hd:(g+1)*gs*hd], t.out[g*gs*hd:(g+1)*gs*hd]
	m := len(rows)
	if m == 0 {
		clear(out)
		return
	}
	keys, values := e.source(t.layer, g)
	k, v := gatherRows(keys, values, rows, hd, t.kbuf[worker], t.vbuf[worker])
	s := t.scores[worker][:gs*m]
	kernels.ScoreRows(s, k, q, hd, t.scale)
	for h := range gs {
		kernels.Softmax(s[h*m : (h+1)*m])
	}
	kernels.WeightedRowSums(out, s, v, hd)
}
