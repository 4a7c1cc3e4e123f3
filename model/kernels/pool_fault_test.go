package kernels

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// faultTask reads a byte of a truncated mapping on every worker but the
// caller, which waits so the workers get chunks.
type faultTask struct {
	mem     []byte
	sink    atomic.Int64
	workers atomic.Int64
}

func (t *faultTask) Do(worker, lo, hi int) {
	if worker == 0 {
		time.Sleep(2 * time.Millisecond)
		return
	}
	t.workers.Add(1)
	t.sink.Add(int64(t.mem[lo%len(t.mem)])) // SIGBUS: the page is gone
}

// A memory fault in a worker goroutine (a memory-mapped file truncated under
// the run) reaches Run's caller as a panic with the faulting address, and
// the pool keeps working afterwards.
func TestPoolFaultReachesCaller(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mapped")
	if err := os.WriteFile(path, make([]byte, 1<<16), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem, err := syscall.Mmap(int(f.Fd()), 0, 1<<16, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Skip("no mmap:", err)
	}
	defer syscall.Munmap(mem)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	p := NewPool(2)
	defer p.Close()
	task := &faultTask{mem: mem}
	func() {
		defer func() {
			r := recover()
			if _, ok := r.(interface{ Addr() uintptr }); !ok {
				t.Errorf("Run panicked with %v (%T), want a memory fault with its address", r, r)
			}
		}()
		p.Run(64, task)
	}()
	if task.workers.Load() == 0 {
		t.Error("no chunk ran on a worker goroutine")
	}
	var sum sumTask
	p.Run(100, &sum)
	if sum.n.Load() != 100 {
		t.Errorf("after the fault, Run covered %d of 100", sum.n.Load())
	}
}

type sumTask struct{ n atomic.Int64 }

func (s *sumTask) Do(_, lo, hi int) { s.n.Add(int64(hi - lo)) }
