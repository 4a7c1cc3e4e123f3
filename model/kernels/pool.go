package kernels

import (
	"fmt"
	"runtime/debug"
	"sync/atomic"
)

// Task is work a Pool splits across its workers. Do handles the index range
// [lo, hi) on worker number worker (0 is the goroutine that called Run);
// the ranges of one Run are disjoint, contiguous and together cover [0, n).
// A worker may receive several ranges of one Run, one at a time, so
// per-worker scratch indexed by worker is safe. Implement Task on a pointer
// to a struct the caller keeps, so that Run does not allocate.
type Task interface {
	Do(worker, lo, hi int)
}

// Pool is a fixed set of worker goroutines, started once, that split
// kernels across cores. The calling goroutine is worker 0 and works too.
//
// Each Run cuts [0, n) into up to chunksPerThread·Threads() chunks that
// workers claim one at a time from a shared atomic counter, so a worker the
// OS has descheduled (the machine is shared) delays a Run by at most the
// chunk it already holds: the others, the caller included, take the rest.
// Between Runs a worker spins briefly, since decode issues matrix-vector
// products back to back, and then parks on a channel.
//
// A Pool runs one call at a time: its methods must not be called
// concurrently. Each worker owns a MatMul scratch buffer, grown when a
// larger weight panel appears and reused afterwards.
type Pool struct {
	threads int

	// claim is gen<<32 | chunks<<16 | next: the Run generation, its number
	// of chunks and the next unclaimed chunk. Storing a new generation
	// publishes task and n, written just before; a worker reads them only
	// after claiming a chunk of that generation, which the caller cannot
	// finish (and so cannot overwrite task and n) until the chunk is done.
	claim atomic.Uint64
	done  atomic.Int64 // chunks of the current generation finished
	task  Task
	n     int

	workers      []poolWorker // [0] unused: worker 0 is the caller
	callerParked atomic.Bool
	callerWake   chan struct{} // capacity 1: one token per successful un-park
	closed       atomic.Bool

	scratch [][]float32 // per-worker MatMul panel buffer
	split   []float32   // MatVec's x reordered for its kernel (splitForMatVec)
	mv      matVecTask
	mvs     matVecsTask
	mm      matMulTask
	mvb     matVecBatchTask

	// failure holds the first panic of the current Run's chunks, which Run
	// re-raises on the caller once every chunk is done. Workers run with
	// debug.SetPanicOnFault, so a fault reading memory-mapped weights (a
	// checkpoint truncated under the run) reaches the caller as a
	// runtime.Error with an Addr method instead of killing the process.
	failure atomic.Pointer[chunkPanic]
}

// chunkPanic carries a recovered panic value from a worker to Run's caller.
type chunkPanic struct{ value any }

type poolWorker struct {
	parked atomic.Bool   // set by a worker about to block on wake
	wake   chan struct{} // capacity 1: one token per successful un-park
	_      [48]byte      // keep workers' flags on separate cache lines
}

const (
	chunksPerThread = 4
	maxChunks       = 1<<16 - 1
	spinLimit       = 2000 // pauses (tens of µs) before a waiter parks
)

// NewPool starts threads-1 worker goroutines (threads ≥ 1).
func NewPool(threads int) *Pool {
	if threads < 1 || threads*chunksPerThread > maxChunks {
		panic(fmt.Sprintf("kernels: NewPool(%d): need 1..%d threads", threads, maxChunks/chunksPerThread))
	}
	p := &Pool{
		threads:    threads,
		workers:    make([]poolWorker, threads),
		callerWake: make(chan struct{}, 1),
		scratch:    make([][]float32, threads),
	}
	for id := 1; id < threads; id++ {
		p.workers[id].wake = make(chan struct{}, 1)
		go p.work(id)
	}
	return p
}

// Threads is the number of workers, the caller included.
func (p *Pool) Threads() int { return p.threads }

// Close stops the workers. The Pool must not be used afterwards.
func (p *Pool) Close() {
	if p.closed.Swap(true) {
		return
	}
	for id := 1; id < p.threads; id++ {
		p.unpark(&p.workers[id].parked, p.workers[id].wake)
	}
}

// unpark sends a wake-up token if the waiter had announced it was parking.
// Paired with park, exactly one token is sent per announcement that the
// waiter does not withdraw itself, so the capacity-1 channel never blocks.
func (p *Pool) unpark(parked *atomic.Bool, wake chan struct{}) {
	if parked.Swap(false) {
		wake <- struct{}{}
	}
}

// park blocks until ready() holds, spinning first. A waker makes ready()
// true and then calls unpark.
func park(parked *atomic.Bool, wake chan struct{}, ready func() bool) {
	for spin := 0; !ready(); spin++ {
		if spin < spinLimit {
			spinPause()
			continue
		}
		parked.Store(true)
		if ready() {
			if !parked.Swap(false) {
				<-wake // the waker saw our flag and sent (or is sending) a token
			}
			return
		}
		<-wake
		spin = 0
	}
}

func (p *Pool) work(id int) {
	debug.SetPanicOnFault(true)
	w := &p.workers[id]
	var seen uint64 // last generation this worker took part in
	for {
		park(&w.parked, w.wake, func() bool { return p.claim.Load()>>32 != seen || p.closed.Load() })
		if p.closed.Load() {
			return
		}
		seen = p.claim.Load() >> 32
		p.runChunks(id, seen)
	}
}

// runChunks claims and runs chunks of generation gen until none is left.
func (p *Pool) runChunks(id int, gen uint64) {
	for {
		s := p.claim.Load()
		chunks, next := int(s>>16&0xffff), int(s&0xffff)
		if s>>32 != gen || next >= chunks {
			return
		}
		if !p.claim.CompareAndSwap(s, s+1) {
			continue
		}
		lo, hi := chunk(p.n, chunks, next)
		p.do(id, lo, hi)
		if p.done.Add(1) == int64(chunks) {
			p.unpark(&p.callerParked, p.callerWake)
		}
	}
}

// do runs one chunk, keeping the first panic of the Run for its caller.
func (p *Pool) do(id, lo, hi int) {
	defer func() {
		if r := recover(); r != nil {
			p.failure.CompareAndSwap(nil, &chunkPanic{r})
		}
	}()
	p.task.Do(id, lo, hi)
}

// chunk is piece id of [0, n) split into parts contiguous pieces.
func chunk(n, parts, id int) (lo, hi int) {
	return n * id / parts, n * (id + 1) / parts
}

// Run splits [0, n) into contiguous chunks, runs task.Do on them across the
// workers (the caller included) and returns when all are done. With one
// thread, or n == 1, it just calls task.Do(0, 0, n).
func (p *Pool) Run(n int, task Task) {
	if p.closed.Load() {
		panic("kernels: Run on a closed Pool")
	}
	if n <= 0 {
		return
	}
	if p.threads == 1 || n == 1 {
		task.Do(0, 0, n)
		return
	}
	chunks := min(n, chunksPerThread*p.threads)
	p.task, p.n = task, n
	p.done.Store(0)
	gen := p.claim.Load()>>32 + 1
	p.claim.Store(gen<<32 | uint64(chunks)<<16)
	for id := 1; id < p.threads; id++ {
		p.unpark(&p.workers[id].parked, p.workers[id].wake)
	}
	p.runChunks(0, gen)
	park(&p.callerParked, p.callerWake, func() bool { return p.done.Load() == int64(chunks) })
	p.task = nil
	if f := p.failure.Swap(nil); f != nil {
		panic(f.value)
	}
}

// MatVec is MatVec with the rows split across the workers (in whole groups
// of four rows).
// Matrices under minParallelWeights elements run on the caller alone: there
// the hand-off costs about as much as the work it would share.
func (p *Pool) MatVec(dst []float32, w Matrix, x []float32) {
	w.check()
	checkLen("Pool.MatVec", "x", len(x), w.Cols)
	checkLen("Pool.MatVec", "dst", len(dst), w.Rows)
	xs := splitForMatVec(&p.split, w, x) // once per product, not per chunk
	if w.Rows*w.Cols < minParallelWeights {
		matVecSplitArch(dst, w, x, xs, 0, w.Rows)
		return
	}
	p.mv = matVecTask{dst: dst, w: w, x: x, xs: xs}
	p.Run((w.Rows+3)/4, &p.mv)
	p.mv = matVecTask{}
}

// minParallelWeights is the matrix size below which Pool.MatVec does not
// split (about 2 µs of work from cache; measured in BenchmarkPoolMatVec).
const minParallelWeights = 1 << 17

type matVecTask struct {
	dst   []float32
	w     Matrix
	x, xs []float32 // xs: x as its kernel reads it, or nil
}

func (t *matVecTask) Do(_, lo, hi int) {
	matVecSplitArch(t.dst, t.w, t.x, t.xs, 4*lo, min(4*hi, t.w.Rows))
}

// Product is one matrix-vector product of MatVecs: Dst = W·x.
type Product struct {
	Dst []float32
	W   Matrix
}

// maxProducts is the most products one MatVecs call takes.
const maxProducts = 4

// MatVecs computes Dst = W·x for each product, all over the same x (a
// layer's q, k and v projections, or its gate and up), in one hand-off to
// the workers instead of one per product: the rows of every product are cut
// into groups of four and the workers take groups across all of them. The
// results are those of MatVec, bit for bit. Every W has len(x) columns; at
// most maxProducts products.
func (p *Pool) MatVecs(x []float32, prods ...Product) {
	if len(prods) > maxProducts {
		panic(fmt.Sprintf("kernels: Pool.MatVecs: %d products, at most %d", len(prods), maxProducts))
	}
	t := &p.mvs
	t.n, t.x = len(prods), x
	weights := 0
	for i, pr := range prods {
		pr.W.check()
		checkLen("Pool.MatVecs", "x", len(x), pr.W.Cols)
		checkLen("Pool.MatVecs", "Dst", len(pr.Dst), pr.W.Rows)
		t.prods[i] = pr
		t.units[i] = (pr.W.Rows + 3) / 4
		weights += pr.W.Rows * pr.W.Cols
	}
	t.xs = splitForMatVec(&p.split, prods[0].W, x) // the same for every product of its type
	total := 0
	for i := range t.n {
		total += t.units[i]
	}
	if weights < minParallelWeights {
		t.Do(0, 0, total)
	} else {
		p.Run(total, t)
	}
	*t = matVecsTask{}
}

type matVecsTask struct {
	n     int
	prods [maxProducts]Product
	units [maxProducts]int // groups of four rows per product
	x, xs []float32
}

// Do computes row groups [lo, hi) of the products laid end to end.
func (t *matVecsTask) Do(_, lo, hi int) {
	base := 0
	for i := range t.n {
		u := t.units[i]
		if a, b := max(lo-base, 0), min(hi-base, u); a < b {
			w := t.prods[i].W
			matVecSplitArch(t.prods[i].Dst, w, t.x, splitFor(t.xs, w), 4*a, min(4*b, w.Rows))
		}
		base += u
	}
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
