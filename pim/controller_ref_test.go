package pim

import "fmt"

// The command-level controller as it was before the scheduler learned to
// skip twin queue entries (entries that differ only in their column): the
// reference the optimised Controller must match command for command and
// cycle for cycle (TestControllerMatchesReference).

type refEntry struct {
	req      Request
	p        path
	cur      Command // next command on the way to req.Cmd
	hit      bool    // cur is a column command that finds its row open
	ver      uint64  // device version cur/earliest/hit were computed at
	earliest int64   // first cycle cur is ready
}

// refController drives one Device channel the way AttAcc's Ramulator2 HBM3-PIM
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
type refController struct {
	dev     *Device
	clk     int64
	refresh bool
	nextRef int64
	queue   []refEntry
	prio    []refEntry
	hitGen  []uint64 // hitGen[bank] == gen: a queued request hits the open row of bank
	gen     uint64
	cap     int
	ticks   int64
}

// newRefController returns a controller at cycle 0 with refresh on.
func newRefController(d *Device) *refController {
	s := d.Spec()
	q := s.PIMQueueEntries
	if q <= 0 {
		q = 33
	}
	return &refController{dev: d, refresh: true, nextRef: int64(s.Timing.REFI), cap: q,
		queue: make([]refEntry, 0, q), hitGen: make([]uint64, s.Org.BanksPerChannel())}
}

// Clock is the current cycle (the last cycle ticked).
func (c *refController) Clock() int64 { return c.clk }

// SetRefresh turns periodic all-bank refresh on or off.
func (c *refController) SetRefresh(on bool) { c.refresh = on }

// Ticks is the number of cycles actually evaluated (the rest were skipped
// because nothing could change); for benchmarks.
func (c *refController) Ticks() int64 { return c.ticks }

// Run feeds reqs through the queue until every request has issued and the
// queues are empty, and returns the cycles elapsed (AttAcc's
// memory_system_cycles when started at cycle 0).
func (c *refController) Run(reqs []Request) int64 {
	start := c.clk
	if len(reqs) == 0 {
		return 0
	}
	pos := 0
	for {
		for len(c.queue) < c.cap && pos < len(reqs) {
			r := reqs[pos]
			c.queue = append(c.queue, refEntry{req: r, p: c.dev.pathOf(r.Addr)})
			pos++
		}
		if !c.tick() {
			c.skip()
		}
		if pos == len(reqs) && len(c.queue) == 0 && len(c.prio) == 0 {
			return c.clk - start
		}
	}
}

func refSlotKind(cmd Command) int {
	switch {
	case cmd.IsRow():
		return 0
	case cmd.IsColumn():
		return 1
	}
	return -1
}

func refOtherKind(first, second Command) bool {
	a, b := refSlotKind(first), refSlotKind(second)
	return a >= 0 && b >= 0 && a != b
}

// tick advances one cycle and reports whether anything changed.
func (c *refController) tick() (progress bool) {
	c.clk++
	c.ticks++
	d := c.dev
	if c.refresh && c.clk == c.nextRef {
		c.nextRef += int64(d.spec.Timing.REFI)
		for pc := 0; pc < d.org.PseudoChannels; pc++ {
			a := Addr{pc, -1, -1, -1, -1, -1}
			c.prio = append(c.prio, refEntry{req: Request{CmdREFab, a}, p: d.pathOf(a)})
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
		if refOtherKind(first, h.cur) {
			if d.earliest(h.cur, h.p) <= c.clk {
				c.issuePrio()
				progress = true
			}
			return progress
		}
	}
	i, removed := c.best()
	progress = progress || removed
	if i >= 0 && refOtherKind(first, c.queue[i].cur) && c.queue[i].earliest <= c.clk {
		c.issueQueue(i)
		progress = true
	}
	return progress
}

func (c *refController) issuePrio() {
	h := c.prio[0]
	c.dev.issue(h.cur, h.req.Addr, h.p, c.clk)
	if h.cur == h.req.Cmd {
		c.prio = c.prio[1:]
		if len(c.prio) == 0 {
			c.prio = nil
		}
	}
}

func (c *refController) issueQueue(i int) {
	e := c.queue[i]
	c.dev.issue(e.cur, e.req.Addr, e.p, c.clk)
	if e.cur == e.req.Cmd {
		c.queue = append(c.queue[:i], c.queue[i+1:]...)
	}
}

// best is the PIM scheduler: it refreshes every refEntry's next command and
// readiness, drops a barrier at the head, and returns the chosen refEntry
// (−1 if none).
func (c *refController) best() (idx int, removedBarrier bool) {
	if len(c.queue) == 0 {
		return -1, false
	}
	d := c.dev
	c.gen++
	for i := range c.queue {
		e := &c.queue[i]
		if e.ver != d.version {
			e.ver = d.version
			if e.req.Cmd == CmdBarrier {
				e.cur, e.earliest, e.hit = CmdBarrier, -1, false
				continue
			}
			e.cur = d.Prerequisite(e.req.Cmd, e.req.Addr)
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
		c.queue = append(c.queue[:0], c.queue[1:]...)
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

func (c *refController) compare(a, b int) int {
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
func (c *refController) skip() {
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
		if e.ver != d.version {
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
