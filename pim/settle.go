package pim

import "sync"

// Settling: finding each layer's latency from reads whose cycles are only
// bounded.
//
// A read of a new shape is charged with bounds on its cycles (bounds.go).
// A layer's latency is its slowest channel, so settling a layer runs the
// engine only on the pending reads of the channel with the highest upper
// bound until that channel has none left (settleLayer): its cycles are
// then exact and no other channel can exceed them. Whatever the order of
// the engine runs, the result is the layer's exact maximum, and a read the
// engine has run on keeps its cycles, so a layer read again after being
// settled (a test's double read, a prefill's next block, a batch's next
// step without EndStep) is settled again from the same numbers: the
// StepReport is the same as if every read had been run through the engine
// (TestChargeMatchesEngine).
//
// Layers settle independently of each other, so the store settles them on
// a goroutine of its own, the settler, as soon as a layer's reads are in
// (Charge hands the layer over after the read of its last KV head, or when
// a read of another layer comes). The settling then overlaps the host's
// compute of the following layers instead of adding to the step at
// EndStep, which waits for the settler and settles what is left.
//
// Ownership. Handing layer l over (handOff) puts it in the settler's queue
// under its mutex. From then until wait returns, the settler alone writes
// pending[l], latency[l] and the scratch lo, hi, open and settleKey, and
// reads pendGroups[l] and layerChan's row l; the caller's goroutine touches
// none of them: a Charge of layer l first waits (reopen), and EndStep,
// SnapshotTo, Restore and Reset wait before anything else that reads them.
// Both goroutines use the pattern cache (under cacheMu), the shared engine
// (under its own lock) and their own pattern-key scratch.
//
// Lifecycle. A settler goroutine runs only while the queue is not empty:
// handOff starts one when none is running, and it returns once the queue
// is drained. A store thus holds no goroutine between steps, needs no
// Close, and one dropped in the middle of a step is collected once its
// queued layers are settled. The goroutine's function is a method value
// made once (NewKVStore), so starting one does not allocate.
type settler struct {
	mu      sync.Mutex
	queue   []int // layers handed over and not yet taken (guarded by mu)
	running bool  // a goroutine is draining queue (guarded by mu)
	done    sync.WaitGroup
	run     func() // the store's drain
}

// pendingRead is a read whose cycles are known to lie in [lo, hi] only,
// until the engine has run on it (done).
type pendingRead struct {
	kvHead int
	lo, hi int64
	off, n int   // its groups: pendGroups[layer][off:off+n]
	done   bool  // the engine has run on it
	cycles int64 // the engine's cycles, once done
}

// handOff gives layer l's pending reads to the settler.
func (s *KVStore) handOff(l int) {
	if s.collecting == l {
		s.collecting = -1
	}
	s.handed[l] = true
	st := &s.settler
	st.mu.Lock()
	st.queue = append(st.queue, l)
	start := !st.running
	st.running = true
	st.mu.Unlock()
	if start {
		st.done.Add(1)
		go st.run()
	}
}

// drain is the settler goroutine: it settles the queued layers and returns
// when the queue is empty.
func (s *KVStore) drain() {
	st := &s.settler
	defer st.done.Done()
	for {
		st.mu.Lock()
		if len(st.queue) == 0 {
			st.running = false
			st.mu.Unlock()
			return
		}
		l := st.queue[0]
		st.queue = append(st.queue[:0], st.queue[1:]...)
		st.mu.Unlock()
		s.settleLayer(l)
	}
}

// wait returns once every layer handed over is settled and the settler has
// stopped; the caller's goroutine then owns all of the step's state.
func (s *KVStore) wait() { s.settler.done.Wait() }

// reopen takes back layer l, handed over earlier in the step, for more
// reads: it waits for the settler and forgets the layer's latency, which
// is settled again with the new reads.
func (s *KVStore) reopen(l int) {
	s.wait()
	s.handed[l] = false
	s.latency[l] = -1
}

// settle waits for the settler and settles the layers it was not given.
func (s *KVStore) settle() {
	s.wait()
	for l, p := range s.pending {
		if len(p) > 0 && s.latency[l] < 0 {
			s.settleLayer(l)
		}
	}
}

// settleLayer sets latency[layer] to the layer's cycles, the highest of
// its channels' (the exactly charged reads in layerChan plus its pending
// reads), running the engine only on pending reads of a channel that has
// the highest upper bound (see the top of the file).
func (s *KVStore) settleLayer(layer int) {
	row := s.layerChan[layer*s.channels : (layer+1)*s.channels]
	copy(s.lo, row)
	copy(s.hi, row)
	clear(s.open)
	pend := s.pending[layer]
	for _, p := range pend {
		lo, hi := p.lo, p.hi
		if p.done {
			lo, hi = p.cycles, p.cycles
		}
		for r := 0; r < s.replicas; r++ {
			ch := s.channel(p.kvHead, r)
			s.lo[ch] += lo
			s.hi[ch] += hi
			if !p.done {
				s.open[ch]++
			}
		}
	}
	for {
		top := 0 // the highest upper bound; on a tie, a channel without open reads
		for ch, h := range s.hi {
			if h > s.hi[top] || h == s.hi[top] && s.open[ch] == 0 {
				top = ch
			}
		}
		if s.open[top] == 0 { // top is exact and no channel can be slower
			s.latency[layer] = s.hi[top]
			return
		}
		for i := range pend {
			if p := &pend[i]; !p.done && s.onChannel(p.kvHead, top) {
				s.runPending(layer, p)
			}
		}
	}
}

// runPending runs the engine on pending read p of layer and moves the
// bounds its channels hold in lo and hi to its cycles.
func (s *KVStore) runPending(layer int, p *pendingRead) {
	c := s.engineCost(&s.settleKey, s.pendGroups[layer][p.off:p.off+p.n]).cycles
	for r := 0; r < s.replicas; r++ {
		ch := s.channel(p.kvHead, r)
		s.lo[ch] += c - p.lo
		s.hi[ch] += c - p.hi
		s.open[ch]--
	}
	p.cycles, p.done = c, true
}

// onChannel reports whether a replica of kvHead is on channel ch.
func (s *KVStore) onChannel(kvHead, ch int) bool {
	for r := 0; r < s.replicas; r++ {
		if s.channel(kvHead, r) == ch {
			return true
		}
	}
	return false
}

// settleExactly waits for the settler, then charges every pending read of
// the open step its engine cycles, as if it had been run when charged.
func (s *KVStore) settleExactly() {
	s.wait()
	for l, pend := range s.pending {
		for _, p := range pend {
			c := p.cycles
			if !p.done {
				c = s.engineCost(&s.settleKey, s.pendGroups[l][p.off:p.off+p.n]).cycles
			}
			for r := 0; r < s.replicas; r++ {
				s.layerChan[l*s.channels+s.channel(p.kvHead, r)] += c
			}
		}
	}
	s.dropPending()
}

// dropPending forgets the open step's pending reads and settled latencies;
// the settler must be stopped (wait).
func (s *KVStore) dropPending() {
	for l := range s.pending {
		s.pending[l], s.pendGroups[l] = s.pending[l][:0], s.pendGroups[l][:0]
		s.latency[l] = -1
	}
	clear(s.handed)
	s.collecting = -1
}
