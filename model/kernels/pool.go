package kernels

import (
	"fmt"
	"sync"
)

// Task is work a Pool splits across its workers. Do handles the index range
// [lo, hi) on worker number worker (0 is the calling goroutine); the ranges
// of one Run are disjoint, contiguous and cover [0, n). Implement it on a
// pointer to a struct the caller keeps, so that Run does not allocate.
type Task interface {
	Do(worker, lo, hi int)
}

// Pool is a fixed set of worker goroutines, started once, that split
// kernels across cores. The calling goroutine is worker 0 and takes the
// first chunk itself; the others park on a channel between calls.
//
// A Pool runs one call at a time: its methods must not be called
// concurrently. Each worker owns a MatMul scratch buffer, grown when a
// larger weight panel appears and reused afterwards.
type Pool struct {
	threads int
	wake    []chan struct{} // wake[i] starts worker i+1 on the current task
	wg      sync.WaitGroup  // counts workers still on the current task
	task    Task            // current task, set before the wake sends
	n       int             // current range [0, n)
	closed  bool

	scratch [][]float32 // per-worker MatMul panel buffer
	mv      matVecTask
	mm      matMulTask
}

// NewPool starts threads-1 worker goroutines (threads ≥ 1).
func NewPool(threads int) *Pool {
	if threads < 1 {
		panic(fmt.Sprintf("kernels: NewPool(%d): need at least one thread", threads))
	}
	p := &Pool{threads: threads, scratch: make([][]float32, threads)}
	p.wake = make([]chan struct{}, threads-1)
	for i := range p.wake {
		p.wake[i] = make(chan struct{})
		go p.work(i+1, p.wake[i])
	}
	return p
}

// Threads is the number of workers, the caller included.
func (p *Pool) Threads() int { return p.threads }

// Close stops the workers. The Pool must not be used afterwards.
func (p *Pool) Close() {
	if p.closed {
		return
	}
	p.closed = true
	for _, c := range p.wake {
		close(c)
	}
}

func (p *Pool) work(id int, wake <-chan struct{}) {
	for range wake {
		if lo, hi := chunk(p.n, p.threads, id); lo < hi {
			p.task.Do(id, lo, hi)
		}
		p.wg.Done()
	}
}

// chunk is worker id's share of [0, n) split into parts contiguous pieces.
func chunk(n, parts, id int) (lo, hi int) {
	return n * id / parts, n * (id + 1) / parts
}

// Run splits [0, n) into Threads() contiguous chunks and calls task.Do on
// each, the first on the calling goroutine, and returns when all are done.
// With one thread, or n ≤ 1, it just calls task.Do(0, 0, n).
func (p *Pool) Run(n int, task Task) {
	if p.closed {
		panic("kernels: Run on a closed Pool")
	}
	if n <= 0 {
		return
	}
	if p.threads == 1 || n == 1 {
		task.Do(0, 0, n)
		return
	}
	p.task, p.n = task, n
	p.wg.Add(p.threads - 1)
	for _, c := range p.wake {
		c <- struct{}{}
	}
	if lo, hi := chunk(n, p.threads, 0); lo < hi {
		task.Do(0, lo, hi)
	}
	p.wg.Wait()
	p.task = nil
}

// MatVec is MatVec with the rows split across the workers in groups of four.
func (p *Pool) MatVec(dst []float32, w Matrix, x []float32) {
	w.check()
	checkLen("Pool.MatVec", "x", len(x), w.Cols)
	checkLen("Pool.MatVec", "dst", len(dst), w.Rows)
	p.mv = matVecTask{dst: dst, w: w, x: x}
	p.Run((w.Rows+3)/4, &p.mv)
	p.mv = matVecTask{}
}

type matVecTask struct {
	dst []float32
	w   Matrix
	x   []float32
}

func (t *matVecTask) Do(_, lo, hi int) {
	matVecArch(t.dst, t.w, t.x, 4*lo, min(4*hi, t.w.Rows))
}

// MatMul is MatMul with the weight rows (output columns) split across the
// workers; each worker widens its own panels into its own scratch buffer.
func (p *Pool) MatMul(dst []float32, w Matrix, x []float32, n int) {
	checkMatMul("Pool.MatMul", dst, w, x, n)
	p.mm = matMulTask{p: p, dst: dst, w: w, x: x, n: n}
	p.Run((w.Rows+rowUnit-1)/rowUnit, &p.mm)
	p.mm = matMulTask{}
}

type matMulTask struct {
	p   *Pool
	dst []float32
	w   Matrix
	x   []float32
	n   int
}

func (t *matMulTask) Do(worker, lo, hi int) {
	matMulRows(t.dst, t.w, t.x, t.n, rowUnit*lo, min(rowUnit*hi, t.w.Rows), &t.p.scratch[worker])
}
