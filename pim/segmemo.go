package pim

import (
	"encoding/binary"
	"fmt"
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

// segmentStride is the number of requests between two stops. Shorter
// segments recur more often; each stop costs a canonical state.
const segmentStride = 16

// segmentMemoLimit bounds the remembered states and transitions; the memo
// is emptied when either passes it (between two reads).
const segmentMemoLimit = 1 << 15

// segmentMemo remembers canonical states (by id) and the transitions
// between them.
type segmentMemo struct {
	states  []memoState
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

// memoState is a canonical state: rows are canonical names (-1: closed),
// cycles relative to the stop's clock, sequence numbers relative to the
// stop's position.
type memoState struct {
	openRow      []int32
	queue, twins []memoEntry
	ready        []memoReady
	rows         int
}

type memoEntry struct {
	cmd                 Command
	pch, rank, bg, bank int8  // −1: all
	row                 int32 // canonical name, −1: none
	seq                 int32 // stop position − the entry's position
}

type memoReady struct {
	slot  int32 // index into segmentMemo.readyIdx
	delta int32 // earliest cycle − clock (> 0)
}

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
		stop := min(pos+segmentStride, len(reqs))
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
	if !c.refresh {
		k = append(k, 0xff)
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
	// A new state: keep what materialise needs.
	st := memoState{rows: len(memo.rows)}
	if d.nOpen > 0 {
		st.openRow = make([]int32, len(d.openRow))
		for b, r := range d.openRow {
			st.openRow[b] = int32(memo.canonicalRow(int(r)))
		}
	}
	for _, part := range []struct {
		src []entry
		dst *[]memoEntry
	}{{c.queue, &st.queue}, {c.twins[c.twinHead:], &st.twins}} {
		for _, e := range part.src {
			a := e.req.Addr
			*part.dst = append(*part.dst, memoEntry{cmd: e.req.Cmd, pch: int8(a.PseudoChannel), rank: int8(a.Rank),
				bg: int8(a.BankGroup), bank: int8(a.Bank), row: int32(memo.canonicalRow(a.Row)), seq: int32(pos - e.seq)})
		}
	}
	for j, ref := range memo.readyIdx {
		if v := d.ready[ref.level][ref.i]; v > c.clk {
			st.ready = append(st.ready, memoReady{int32(j), int32(v - c.clk)})
		}
	}
	id := uint32(len(memo.states))
	memo.states = append(memo.states, st)
	memo.stateID[string(k)] = id
	return id
}

// canonicalRow is the name of actual row r in memo.rows (-1 for -1).
func (memo *segmentMemo) canonicalRow(r int) int {
	if r < 0 {
		return -1
	}
	for i, x := range memo.rows {
		if x == r {
			return i
		}
	}
	panic(fmt.Sprintf("pim: segment memo: row %d not named", r))
}

// materialise puts m in state id with its canonical rows named memo.rows,
// at cycle clk with the next refresh at nextRef, stopped at request pos.
func (memo *segmentMemo) materialise(m *simulator, id uint32, clk, nextRef int64, pos int) {
	st := &memo.states[id]
	d, c := m.dev, m.ctl
	d.Reset()
	actual := func(r int) int {
		if r < 0 {
			return r
		}
		return memo.rows[r]
	}
	if st.openRow != nil {
		for b, r := range st.openRow {
			d.openRow[b] = int32(actual(int(r)))
			if r >= 0 {
				d.nOpen++
			}
		}
		d.refreshSummary()
	}
	for _, r := range st.ready {
		ref := memo.readyIdx[r.slot]
		d.ready[ref.level][ref.i] = clk + int64(r.delta)
	}
	c.reset()
	c.clk, c.nextRef = clk, nextRef
	for _, part := range []struct {
		src []memoEntry
		dst *[]entry
	}{{st.queue, &c.queue}, {st.twins, &c.twins}} {
		for _, e := range part.src {
			req := Request{e.cmd, Addr{int(e.pch), int(e.rank), int(e.bg), int(e.bank), actual(int(e.row)), 0}}
			x := entry{req: req, p: d.pathOf(req.Addr), seq: pos - int(e.seq)}
			x.work = workKey(req, x.p)
			*part.dst = append(*part.dst, x)
		}
	}
}
