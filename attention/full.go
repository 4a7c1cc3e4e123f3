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
// group. Each head's output is attendRows' (attendRowsF16's over FP16
// rows), bit for bit: the group kernels compute what the single-query
// kernels compute query by query.
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
	s := t.scores[worker][:gs*m]
	if e.half != nil { // FP16 rows in place (the device's cells): attendRowsF16's numbers
		keys, values := e.half.KeysF16(t.layer, g), e.half.ValuesF16(t.layer, g)
		k, v := gatherRows(keys, values, rows, hd, t.kbuf16[worker], t.vbuf16[worker])
		kernels.ScoreRowsF16(s, k, q, hd, t.scale)
		softmaxRows(s, m)
		kernels.WeightedRowSumsF16(out, s, v, hd)
		return
	}
	keys, values := e.source(t.layer, g)
	k, v := gatherRows(keys, values, rows, hd, t.kbuf[worker], t.vbuf[worker])
	kernels.ScoreRows(s, k, q, hd, t.scale)
	softmaxRows(s, m)
	kernels.WeightedRowSums(out, s, v, hd)
}

// softmaxRows applies Softmax to each row of m scores in s.
func softmaxRows(s []float32, m int) {
	for i := 0; i < len(s); i += m {
		kernels.Softmax(s[i : i+m])
	}
}
