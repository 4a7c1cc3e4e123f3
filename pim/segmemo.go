package pim

import (
	"encoding/binary"
	"sync"
)

// The segment memo: the command-level engine's run over a request stream,
// remembered segment by segment, so that a KV store charging reads of ever
// new shapes (STARC's clusters, Quest's pages) simulates only the segments
// it has not met before.
//
// Why it is exact. A Controller run stopped just before it admits request
// P (Controller.run) is in a state that is a function of the requests
// before P, and what it does from there is a function of that state and
// the requests from P on. The state is the device's open rows and
// per-node earliest issue cycles, the queue and its twins, the clock and
// the next refresh. Put relative to the clock, with rows renamed in order
// of first appearance (the engine compares rows only for equality and
// never looks at columns) and with every earliest cycle at or before the
// clock dropped (the engine only asks whether a cycle has come, and every
// later cycle is past it), it is a canonical state: two stops with the
// same canonical state behave the same on the same (renamed) requests.
// The next refresh is left out of the canonical state: a segment is taken
// from the memo only if it ends before the next refresh is due, and a
// segment during which a refresh fell due is never remembered (it is
// simulated whenever met). So the memo's cycles and command counts are the
// engine's, command for command (TestSegmentMemoMatchesEngine).

// segmentStride is the most requests between two stops. Shorter
// segments recur more often; each stop costs a canonical state.
const segmentStride = 16

// nextStop returns where the segment starting at request pos ends: after
// segmentStride requests, or earlier just after a barrier, so that stops
// fall on the phase boundaries of the attention stream (the score blocks,
// the turn to the context phase), whose segments recur across patterns.
// Any stop is exact (see above); these make the memo hit more often.
func nextStop(reqs []Request, pos int) int {
	stop := min(pos+segmentStride, len(reqs))
	for i := pos + 1; i < stop; i++ {
		if reqs[i-1].Cmd == CmdBarrier {
			return i
		}
	}
	return stop
}

// segmentMemoLimit bounds the remembered states and transitions; the memo
// is emptied when either passes it (between two reads). A state takes
// about 400 bytes and a transition about 300 (STARC's reads of SmolLM2),
// so a full memo holds about 23 MB.
const segmentMemoLimit = 1 << 15

// sharedEngine is the engine and segment memo every KV store of one part
// charges with (the memo's states and transitions depend on the part's
// timing only), so that stores forked from one another, or one per
// sequence, share what they have simulated.
type sharedEngine struct {
	mu   sync.Mutex
	sim  *simulator
	memo *segmentMemo
}

var sharedEngines sync.Map // Spec → *sharedEngine

func sharedEngineFor(s Spec) *sharedEngine {
	if e, ok := sharedEngines.Load(s); ok {
		return e.(*sharedEngine)
	}
	e, _ := sharedEngines.LoadOrStore(s, &sharedEngine{sim: newSimulator(s), memo: newSegmentMemo()})
	return e.(*sharedEngine)
}

// cost is placement p's simulateMemo on the shared engine.
func (e *sharedEngine) cost(p placement, groups []int, q int) patternCost {
	e.mu.Lock()
	defer e.mu.Unlock()
	return p.simulateMemo(e.sim, e.memo, groups, q)
}

// segmentMemo remembers canonical states (by id) and the transitions
// between them.
type segmentMemo struct {
	states  []string // canonical states by id (their key: see canonical)
	stateID map[string]uint32
	trans   map[string]*memoTransition
	initial uint32 // the state of a fresh device and controller, -1 until interned
	init    bool

	key, seg []byte
	rows     []int // actual rows of the current state, by canonical name
	segRows  []int // rows the current segment names for the first time
	scratch  []int
	readyIdx []readyRef // flattened index of every device ready slot

	// Statistics (for tests and benchmarks).
	hits, misses int64
}

type readyRef struct{ level, i int32 }

// memoTransition is one segment run from a state: the stop it reaches
// (unused for a final segment), the cycles and commands on the way, and
// for every canonical row of the state reached, where it came from: an
// index into the start state's rows followed by the segment's new rows.
type memoTransition struct {
	next     uint32
	elapsed  int64
	n        [numCommands]int64
	rowsFrom []uint16
}

func newSegmentMemo() *segmentMemo {
	return &segmentMemo{stateID: map[string]uint32{}, trans: map[string]*memoTransition{}}
}

// simulateMemo is simulateOn with the segment memo: the same cycles and
// command counts for reading the sorted, distinct groups with q queries.
func (p placement) simulateMemo(m *simulator, memo *segmentMemo, groups []int, q int) patternCost {
	if len(groups) == 0 {
		return patternCost{}
	}
	if m.dev.nodes[levelBank]*int(numCommands)*numLevels > 1<<16 { // ready slots would not fit the key's 16 bits
		return p.simulateOn(m, groups, q)
	}
	m.reqs = p.appendRequests(m.reqs[:0], groups, q)
	cycles, n := memo.run(m, m.reqs)
	return patternCost{cycles: cycles, n: n}
}

// run returns the engine's cycles and command counts for reqs, run from a
// fresh device and controller.
func (memo *segmentMemo) run(m *simulator, reqs []Request) (cycles int64, n [numCommands]int64) {
	if len(memo.states) > segmentMemoLimit || len(memo.trans) > segmentMemoLimit {
		clear(memo.stateID)
		clear(memo.trans)
		memo.states = memo.states[:0]
		memo.init = false
	}
	d, c := m.dev, m.ctl
	if memo.readyIdx == nil {
		for l := range d.ready {
			for i := range d.ready[l] {
				memo.readyIdx = append(memo.readyIdx, readyRef{int32(l), int32(i)})
			}
		}
	}
	d.Reset()
	c.reset()
	if !memo.init {
		memo.rows = memo.rows[:0]
		memo.initial = memo.canonical(m, 0)
		memo.init = true
	}
	state, valid := memo.initial, true
	memo.rows = memo.rows[:0]
	live := true // m holds the current state
	clk, nextRef := int64(0), c.nextRef
	for pos := 0; pos < len(reqs); {
		stop := nextStop(reqs, pos)
		final := stop == len(reqs)
		seg := reqs[pos:stop]
		if valid {
			memo.segmentKey(state, seg, final)
			if t, ok := memo.trans[string(memo.seg)]; ok && clk+t.elapsed < nextRef {
				memo.hits++
				clk += t.elapsed
				for i := range n {
					n[i] += t.n[i]
				}
				if !final {
					memo.follow(t)
					state = t.next
				}
				live = false
				pos = stop
				continue
			}
			memo.misses++
		}
		if !live {
			memo.materialise(m, state, clk, nextRef, pos)
			live = true
		}
		c0, n0, ref0 := c.clk, m.cnt.N, c.nextRef
		refreshed := len(c.prio) > 0
		c.run(reqs, pos, stop)
		refreshed = refreshed || c.nextRef != ref0
		clk, nextRef = c.clk, c.nextRef
		var dn [numCommands]int64
		for i := range n {
			dn[i] = m.cnt.N[i] - n0[i]
			n[i] += dn[i]
		}
		pos = stop
		if final {
			if valid && !refreshed {
				memo.trans[string(memo.seg)] = &memoTransition{elapsed: clk - c0, n: dn}
			}
			break
		}
		if len(c.prio) > 0 { // a refresh in flight: no canonical state here
			valid = false
			continue
		}
		startRows := append(memo.scratch[:0], memo.rows...)
		startRows = append(startRows, memo.segRows...)
		memo.scratch = startRows
		next := memo.canonical(m, pos)
		if valid && !refreshed {
			t := &memoTransition{next: next, elapsed: clk - c0, n: dn, rowsFrom: make([]uint16, len(memo.rows))}
			for i, r := range memo.rows {
				j := 0
				for startRows[j] != r {
					j++
				}
				t.rowsFrom[i] = uint16(j)
			}
			memo.trans[string(memo.seg)] = t
		}
		state, valid = next, true
	}
	return clk, n
}

// follow moves the current rows along transition t.
func (memo *segmentMemo) follow(t *memoTransition) {
	from := append(memo.scratch[:0], memo.rows...)
	from = append(from, memo.segRows...)
	memo.scratch = from
	memo.rows = memo.rows[:0]
	for _, j := range t.rowsFrom {
		memo.rows = append(memo.rows, from[j])
	}
}

// rowName returns the canonical name of actual row r in the current state
// followed by the segment's new rows, naming r anew if it is neither.
func (memo *segmentMemo) rowName(r int) int {
	if r < 0 {
		return -1
	}
	for i, x := range memo.rows {
		if x == r {
			return i
		}
	}
	for i, x := range memo.segRows {
		if x == r {
			return len(memo.rows) + i
		}
	}
	memo.segRows = append(memo.segRows, r)
	return len(memo.rows) + len(memo.segRows) - 1
}

// segmentKey sets memo.seg to (state, the segment's requests with rows
// renamed, final) and memo.segRows to the rows the segment names first.
func (memo *segmentMemo) segmentKey(state uint32, seg []Request, final bool) {
	memo.segRows = memo.segRows[:0]
	k := binary.LittleEndian.AppendUint32(memo.seg[:0], state)
	if final {
		k = append(k, 1)
	} else {
		k = append(k, 0)
	}
	for _, r := range seg {
		k = appendRequest(k, r.Cmd, r.Addr, memo.rowName(r.Addr.Row))
	}
	memo.seg = k
}

func appendRequest(k []byte, cmd Command, a Addr, row int) []byte {
	return append(k, byte(cmd), byte(a.PseudoChannel+1), byte(a.Rank+1), byte(a.BankGroup+1), byte(a.Bank+1), byte(row+1), byte((row+1)>>8))
}

// canonical returns the id of m's current canonical state, stopped at
// request pos, and sets memo.rows to the actual rows of its canonical names.
func (memo *segmentMemo) canonical(m *simulator, pos int) uint32 {
	d, c := m.dev, m.ctl
	memo.rows, memo.segRows = memo.rows[:0], memo.segRows[:0]
	name := func(r int) int {
		if r < 0 {
			return -1
		}
		for i, x := range memo.rows {
			if x == r {
				return i
			}
		}
		memo.rows = append(memo.rows, r)
		return len(memo.rows) - 1
	}
	k := memo.key[:0]
	k = binary.LittleEndian.AppendUint16(k, uint16(len(c.queue)))
	k = binary.LittleEndian.AppendUint16(k, uint16(len(c.twins)-c.twinHead))
	if c.refresh {
		k = append(k, 1)
	} else {
		k = append(k, 0)
	}
	switch {
	case d.nOpen == 0:
		k = append(k, 0)
	case d.nOpen == len(d.openRow) && d.rowOpen >= 0:
		r := name(int(d.rowOpen))
		k = append(k, 1, byte(r), byte(r>>8))
	default:
		k = append(k, 2)
		for _, r := range d.openRow {
			x := name(int(r)) + 1
			k = append(k, byte(x), byte(x>>8))
		}
	}
	for _, part := range [][]entry{c.queue, c.twins[c.twinHead:]} {
		for i := range part {
			e := &part[i]
			k = appendRequest(k, e.req.Cmd, e.req.Addr, name(e.req.Addr.Row))
			k = binary.AppendUvarint(k, uint64(pos-e.seq))
		}
	}
	for j, ref := range memo.readyIdx {
		if v := d.ready[ref.level][ref.i]; v > c.clk {
			k = binary.LittleEndian.AppendUint16(k, uint16(j))
			k = binary.AppendUvarint(k, uint64(v-c.clk))
		}
	}
	memo.key = k
	if id, ok := memo.stateID[string(k)]; ok {
		return id
	}
	id := uint32(len(memo.states))
	key := string(k)
	memo.states = append(memo.states, key)
	memo.stateID[key] = id
	return id
}

// materialise puts m in state id with its canonical rows named memo.rows,
// at cycle clk with the next refresh at nextRef, stopped at request pos:
// it reads the state back from its key (see canonical).
func (memo *segmentMemo) materialise(m *simulator, id uint32, clk, nextRef int64, pos int) {
	k := memo.states[id]
	d, c := m.dev, m.ctl
	d.Reset()
	c.reset()
	c.clk, c.nextRef = clk, nextRef
	actual := func(name int) int {
		if name < 0 {
			return -1
		}
		return memo.rows[name]
	}
	nq, nt := int(binary.LittleEndian.Uint16([]byte(k[0:2]))), int(binary.LittleEndian.Uint16([]byte(k[2:4])))
	c.refresh = k[4] == 1
	at := 5
	u16 := func() int { v := int(k[at]) | int(k[at+1])<<8; at += 2; return v }
	switch k[at] {
	case 0:
		at++
	case 1:
		at++
		r := int32(actual(u16()))
		for b := range d.openRow {
			d.openRow[b] = r
		}
		d.nOpen = len(d.openRow)
		d.refreshSummary()
	default:
		at++
		for b := range d.openRow {
			if r := actual(u16() - 1); r >= 0 {
				d.openRow[b] = int32(r)
				d.nOpen++
			}
		}
		d.refreshSummary()
	}
	uvarint := func() int {
		v, n := binary.Uvarint([]byte(k[at:min(at+binary.MaxVarintLen64, len(k))]))
		at += n
		return int(v)
	}
	for i := range nq + nt {
		a := Addr{int(k[at+1]) - 1, int(k[at+2]) - 1, int(k[at+3]) - 1, int(k[at+4]) - 1, 0, 0}
		cmd := Command(k[at])
		at += 5
		a.Row = actual(u16() - 1)
		req := Request{cmd, a}
		e := entry{req: req, p: d.pathOf(a), seq: pos - uvarint()}
		e.work = workKey(req, e.p)
		if i < nq {
			c.queue = append(c.queue, e)
		} else {
			c.twins = append(c.twins, e)
		}
	}
	for at < len(k) {
		ref := memo.readyIdx[u16()]
		d.ready[ref.level][ref.i] = clk + int64(uvarint())
	}
}
