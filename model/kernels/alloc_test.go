package kernels

import (
	"math/rand/v2"
	"testing"
)

// runTask is a Task with no work, to measure Run's own allocations.
type runTask struct{ sum int }

func (r *runTask) Do(_, lo, hi int) { r.sum += hi - lo }

// TestNoAllocations checks the steady state of every hot kernel: after one
// warm-up call (which may size MatMul scratch), calls allocate nothing.
func TestNoAllocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	w, _ := randMatrix(rng, BF16, 150, 577)
	wf, _ := randMatrix(rng, F32, 150, 577)
	w2, _ := randMatrix(rng, BF16, 400, 577) // with w, over minParallelWeights
	dst2, out2 := make([]float32, 400), make([]float32, 7*400)
	x := randVec(rng, 577)
	xs := randVec(rng, 7*577)
	dst, out := make([]float32, 150), make([]float32, 7*150)
	vec, weight := randVec(rng, 577), randVec(rng, 577)
	cos, sin := randVec(rng, 32), randVec(rng, 32)
	head := randVec(rng, 3*64)
	bits := make([]uint16, 577)
	pool := NewPool(2)
	defer pool.Close()
	task := &runTask{}
	scoresRow := randVec(rng, 577)
	expOut := make([]float32, 577)
	weights, values, headOut := randVec(rng, 77), randVec(rng, 77*65), make([]float32, 65)
	values128, head128 := randVec(rng, 77*128), make([]float32, 128)

	cases := []struct {
		name string
		f    func()
	}{
		{"MatVec", func() { MatVec(dst, w, x) }},
		{"MatVecRows", func() { MatVecRows(dst, wf, x, 3, 77) }},
		{"MatMul", func() { MatMul(out, w, xs, 7) }},
		{"Pool.MatVec", func() { pool.MatVec(dst, w, x) }},
		{"Pool.MatMul", func() { pool.MatMul(out, w, xs, 7) }},
		{"MatVecBatch", func() { MatVecBatch(out, w, xs, 7) }},
		{"Pool.MatVecBatch", func() { pool.MatVecBatch(out, w, xs, 7) }},
		{"Pool.MatVecBatch/split", func() { pool.MatVecBatch(out2, w2, xs, 7) }},
		{"Pool.MatVecs", func() { pool.MatVecs(x, Product{dst, w}, Product{dst2, w2}) }},
		{"Pool.Run", func() { pool.Run(100, task) }},
		{"RowTo", func() { w.RowTo(vec, 3) }},
		{"RMSNorm", func() { RMSNorm(vec, vec, weight, 1e-5) }},
		{"Dot", func() { benchSink = Dot(vec, weight) }},
		{"Axpy", func() { Axpy(vec, 0.5, weight) }},
		{"Scale", func() { Scale(vec, 0.5) }},
		{"Add", func() { Add(vec, weight) }},
		{"Softmax", func() { Softmax(vec) }},
		{"SiLUMul", func() { SiLUMul(vec, vec, weight) }},
		{"Exp", func() { Exp(expOut, scoresRow) }},
		{"WeightedRowSum", func() { WeightedRowSum(headOut, weights, values, 65) }},
		{"WeightedRowSum/dim=128", func() { WeightedRowSum(head128, weights, values128, 128) }},
		{"RoPEHalf", func() { RoPEHalf(head, cos, sin) }},
		{"RoPEAdjacent", func() { RoPEAdjacent(head, cos, sin) }},
		{"F32ToBF16", func() { F32ToBF16(bits, vec) }},
		{"BF16ToF32", func() { BF16ToF32(vec, bits) }},
		{"Argmax", func() { benchSink = float32(Argmax(vec)) }},
	}
	forEachLevel(t, func(t *testing.T) {
		for _, c := range cases {
			c.f() // warm-up
			if n := testing.AllocsPerRun(20, c.f); n != 0 {
				t.Errorf("%s: %v allocations per call, want 0", c.name, n)
			}
		}
	})
}
