package pim

import "fmt"

// Request is one line of a controller's input: the final command wanted
// and its address. CmdBarrier requests order the PIM queue.
type Request struct {
	Cmd  Command
	Addr Addr
}

type entry struct {
	req      Request
	p        path
	cur      Command // next command on the way to req.Cmd
	hit      bool    // cur is a column command that finds its row open
	rowVer   uint64  // the device's rowVer and cmdVer[cur] when cur, earliest
	cmdVer   uint64  // and hit were worked out (0: never)
	earliest int64   // first cycle cur is ready
	seq      int     // position in the request stream (age)
	work     uint64  // workKey of req; 0: never a twin
}

// workKey packs what the device looks at in a request (its command, the
// node its path ends at and its row; never its column) into one word, so
// that two requests with equal non-zero keys behave the same. It returns 0
// (no twin) for barriers and for values too wide to pack.
func workKey(r Request, p path) uint64 {
	if r.Cmd == CmdBarrier || r.Addr.Row < -1 || r.Addr.Row >= 1<<23 {
		return 0
	}
	k := uint64(r.Cmd)<<56 | uint64(r.Addr.Row+1)<<32
	for l := levelPseudoChannel; l < numLevels; l++ {
		if p[l] >= 255 {
			return 0
		}
		k |= uint64(p[l]+1) << (8 * (l - 1))
	}
	return k
}

// Controller drives one Device channel the way AttAcc's Ramulator2 HBM3-PIM
// controller does (attacc.md §2.5). It owns the clock:
//   - each cycle the front end first fills the in-order PIM queue
//     (Spec.PIMQueueEntries entries) from the request stream, then the
//     controller ticks;
//   - refresh: every nREFI one REFab per pseudo-channel enters a priority
//     queue; its head blocks the first issue slot until it is ready (it gets
//     a PREA first while any bank is open), but column commands may still
//     issue in the second slot, so an open MAC row is finished first;
//   - scheduler: a barrier at the head of the queue is dropped; candidates
//     are the requests before the first barrier plus later ones whose next
//     command opens or closes a row; a ready candidate beats a not-ready one,
//     except that a ready command that is not a row hit loses while another
//     queued request hits the open row of its bank; otherwise oldest first;
//   - dual issue: after a first command, a second one of the other kind
//     (row vs column) may issue in the same cycle.
type Controller struct {
	dev     *Device
	clk     int64
	refresh bool
	nextRef int64
	queue   []entry // the PIM queue, oldest first, without its twins
	// twins are queued requests that ask for the same command at the same
	// node and row as an older entry of queue (only the column may differ):
	// such a request has the same next command, readiness and row hit as
	// the older one, and the scheduler, which prefers the older of two
	// equally ready requests, never picks it while the older one is queued.
	// So twins wait aside, oldest first, and the oldest twin of a request
	// takes its place in queue (by age) when it issues. twins[:twinHead]
	// are gone (promoted from the front without moving the rest).
	twins    []entry
	twinHead int
	prio     []entry
	hitGen   []uint64 // hitGen[bank] == gen: a queued request hits the open row of bank
	gen      uint64
	cap      int
	ticks    int64
}

// NewController returns a controller at cycle 0 with refresh on.
func NewController(d *Device) *Controller {
	s := d.Spec()
	q := s.PIMQueueEntries
	if q <= 0 {
		q = 33
	}
	return &Controller{dev: d, refresh: true, nextRef: int64(s.Timing.REFI), cap: q,
		queue: make([]entry, 0, q), hitGen: make([]uint64, s.Org.BanksPerChannel())}
}

// reset puts c back at cycle 0 with refresh on and empty queues, as
// NewController leaves it (for a device that has been Reset).
func (c *Controller) reset() {
	c.clk, c.refresh, c.nextRef, c.ticks = 0, true, int64(c.dev.spec.Timing.REFI), 0
	c.queue, c.twins, c.twinHead, c.prio = c.queue[:0], c.twins[:0], 0, nil
}

// Clock is the current cycle (the last cycle ticked).
func (c *Controller) Clock() int64 { return c.clk }

// SetRefresh turns periodic all-bank refresh on or off.
func (c *Controller) SetRefresh(on bool) { c.refresh = on }

// Ticks is the number of cycles actually evaluated (the rest were skipped
// because nothing could change); for benchmarks.
func (c *Controller) Ticks() int64 { return c.ticks }

// Run feeds reqs through the queue until every request has issued and the
// queues are empty, and returns the cycles elapsed (AttAcc's
// memory_system_cycles when started at cycle 0).
func (c *Controller) Run(reqs []Request) int64 {
	start := c.clk
	if len(reqs) == 0 {
		return 0
	}
	c.run(reqs, 0, len(reqs))
	return c.clk - start
}

// run is Run resumed at request pos, where an earlier run stopped: it
// admits reqs[pos:] and ticks, and returns when it is about to admit
// reqs[stop] with room in the queue (stop < len(reqs)), or when everything
// has issued and the queues are empty (stop == len(reqs)). The machine's
// state at such a stop is a function of reqs[:stop] alone, which is what
// lets the segment memo (segmemo.go) resume a run from a remembered state.
func (c *Controller) run(reqs []Request, pos, stop int) {
	for {
		for len(c.queue)+len(c.twins)-c.twinHead < c.cap && pos < len(reqs) {
			if pos == stop {
				return
			}
			r := reqs[pos]
			e := entry{req: r, p: c.dev.pathOf(r.Addr), seq: pos}
			e.work = workKey(r, e.p)
			c.admit(e)
			pos++
		}
		if !c.tick() {
			c.skip()
		}
		if pos == len(reqs) && len(c.queue) == 0 && len(c.twins) == c.twinHead && len(c.prio) == 0 {
			return
		}
	}
}

// admit puts e in the queue, or beside it when an older queued entry is
// its twin.
func (c *Controller) admit(e entry) {
	if e.work != 0 {
		for i := range c.queue {
			if c.queue[i].work == e.work {
				if c.twinHead > 0 && len(c.twins) == cap(c.twins) {
					n := copy(c.twins, c.twins[c.twinHead:])
					c.twins, c.twinHead = c.twins[:n], 0
				}
				c.twins = append(c.twins, e)
				return
			}
		}
	}
	c.queue = append(c.queue, e)
}

func slotKind(cmd Command) int {
	switch {
	case cmd.IsRow():
		return 0
	case cmd.IsColumn():
		return 1
	}
	return -1
}

func otherKind(first, second Command) bool {
	a, b := slotKind(first), slotKind(second)
	return a >= 0 && b >= 0 && a != b
}

// tick advances one cycle and reports whether anything changed.
func (c *Controller) tick() (progress bool) {
	c.clk++
	c.ticks++
	d := c.dev
	if c.refresh && c.clk == c.nextRef {
		c.nextRef += int64(d.spec.Timing.REFI)
		for pc := 0; pc < d.org.PseudoChannels; pc++ {
			a := Addr{pc, -1, -1, -1, -1, -1}
			c.prio = append(c.prio, entry{req: Request{CmdREFab, a}, p: d.pathOf(a)})
		}
		progress = true
	}
	// First slot.
	first := CmdNone
	if len(c.prio) > 0 {
		h := &c.prio[0]
		h.cur = d.Prerequisite(h.req.Cmd, h.req.Addr)
		first = h.cur
		if d.earliest(h.cur, h.p) > c.clk {
			// Refresh pending: nothing else in the first slot.
		} else {
			c.issuePrio()
			progress = true
		}
	} else {
		i, removed := c.best()
		progress = progress || removed
		if i >= 0 && c.queue[i].earliest <= c.clk {
			first = c.queue[i].cur
			c.issueQueue(i)
			progress = true
		}
	}
	if first == CmdNone {
		return progress
	}
	// Second slot: a command of the other kind.
	if len(c.prio) > 0 {
		h := &c.prio[0]
		h.cur = d.Prerequisite(h.req.Cmd, h.req.Addr)
		if otherKind(first, h.cur) {
			if d.earliest(h.cur, h.p) <= c.clk {
				c.issuePrio()
				progress = true
			}
			return progress
		}
	}
	i, removed := c.best()
	progress = progress || removed
	if i >= 0 && otherKind(first, c.queue[i].cur) && c.queue[i].earliest <= c.clk {
		c.issueQueue(i)
		progress = true
	}
	return progress
}

func (c *Controller) issuePrio() {
	h := c.prio[0]
	c.dev.issue(h.cur, h.req.Addr, h.p, c.clk)
	if h.cur == h.req.Cmd {
		c.prio = c.prio[1:]
		if len(c.prio) == 0 {
			c.prio = nil
		}
	}
}

func (c *Controller) issueQueue(i int) {
	e := c.queue[i]
	c.dev.issue(e.cur, e.req.Addr, e.p, c.clk)
	if e.cur == e.req.Cmd {
		c.remove(i)
	}
}

// remove drops queue entry i; its oldest twin, if any, takes its place in
// the queue, by age, with its next command to be worked out afresh.
func (c *Controller) remove(i int) {
	work := c.queue[i].work
	c.queue = append(c.queue[:i], c.queue[i+1:]...)
	if work == 0 {
		return
	}
	for j := c.twinHead; j < len(c.twins); j++ {
		if c.twins[j].work != work {
			continue
		}
		t := c.twins[j]
		if j == c.twinHead {
			c.twinHead++
		} else {
			c.twins = append(c.twins[:j], c.twins[j+1:]...)
		}
		if c.twinHead == len(c.twins) {
			c.twins, c.twinHead = c.twins[:0], 0
		}
		t.rowVer = 0
		at := len(c.queue)
		for at > 0 && c.queue[at-1].seq > t.seq {
			at--
		}
		c.queue = append(c.queue, entry{})
		copy(c.queue[at+1:], c.queue[at:])
		c.queue[at] = t
		return
	}
}

// fresh reports whether e's cur, earliest and hit are still what the
// device would say: neither the row state nor the readiness of cur has
// changed since they were worked out.
func (c *Controller) fresh(e *entry) bool {
	return e.rowVer == c.dev.rowVer && e.rowVer != 0 && e.cmdVer == c.dev.cmdVer[e.cur]
}

// best is the PIM scheduler: it refreshes every entry's next command and
// readiness, drops a barrier at the head, and returns the chosen entry
// (−1 if none).
func (c *Controller) best() (idx int, removedBarrier bool) {
	if len(c.queue) == 0 {
		return -1, false
	}
	d := c.dev
	c.gen++
	for i := range c.queue {
		e := &c.queue[i]
		if !c.fresh(e) {
			if e.req.Cmd == CmdBarrier {
				e.cur, e.earliest, e.hit, e.rowVer, e.cmdVer = CmdBarrier, -1, false, d.rowVer, d.cmdVer[CmdBarrier]
				continue
			}
			e.cur = d.Prerequisite(e.req.Cmd, e.req.Addr)
			e.rowVer, e.cmdVer = d.rowVer, d.cmdVer[e.cur]
			e.earliest = d.earliest(e.cur, e.p)
			e.hit = false
			if e.cur == CmdMACAB || e.cur == CmdRD || e.cur == CmdWR {
				if b := e.p[levelBank]; b >= 0 && d.openRow[b] == int32(e.req.Addr.Row) {
					e.hit = true
				}
			}
		}
		if e.hit {
			c.hitGen[e.p[levelBank]] = c.gen
		}
	}
	if c.queue[0].req.Cmd == CmdBarrier {
		c.remove(0)
		removedBarrier = true
		if len(c.queue) == 0 {
			return -1, true
		}
	}
	cand := 0
	behindBarrier := false
	for i := 1; i < len(c.queue); i++ {
		e := &c.queue[i]
		if e.req.Cmd == CmdBarrier {
			behindBarrier = true
		}
		if !behindBarrier || e.cur.opensRow() || e.cur.closesRow() {
			cand = c.compare(cand, i)
		}
	}
	return cand, removedBarrier
}

func (c *Controller) compare(a, b int) int {
	ea, eb := &c.queue[a], &c.queue[b]
	ra, rb := ea.earliest <= c.clk, eb.earliest <= c.clk
	if ra == rb {
		return a // oldest first
	}
	if ra {
		return a
	}
	if bk := eb.p[levelBank]; !eb.hit && bk >= 0 && c.hitGen[bk] == c.gen {
		return a // keep the open row for the requests that hit it
	}
	return b
}

// skip moves the clock to the cycle before the next one at which anything
// can change (a command becoming ready or a refresh falling due).
func (c *Controller) skip() {
	next := int64(1<<62 - 1)
	if c.refresh {
		next = c.nextRef
	}
	d := c.dev
	for i := range c.queue {
		e := &c.queue[i]
		if e.req.Cmd == CmdBarrier {
			continue
		}
		t := e.earliest
		if !c.fresh(e) {
			t = d.earliest(d.Prerequisite(e.req.Cmd, e.req.Addr), e.p)
		}
		if t > c.clk && t < next {
			next = t
		}
	}
	if len(c.prio) > 0 {
		h := &c.prio[0]
		if t := d.earliest(d.Prerequisite(h.req.Cmd, h.req.Addr), h.p); t > c.clk && t < next {
			next = t
		}
	}
	if next == 1<<62-1 {
		panic(fmt.Sprintf("pim: controller stuck at cycle %d with %d queued requests", c.clk, len(c.queue)))
	}
	if next-1 > c.clk {
		c.clk = next - 1
	}
}
