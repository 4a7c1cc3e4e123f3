package pim

import (
	"strings"
	"testing"
)

// Timing-rule tests: every expectation is written with the named timing it
// comes from, never as a bare cycle count.

func rowAddr(row, col int) Addr { return Addr{0, 0, 0, 0, row, col} }

func TestACTABThenFirstMACABAtRCDRD(t *testing.T) {
	s := HBM3PIM(true)
	tm := s.Timing
	d := NewDevice(s)
	if got := d.Prerequisite(CmdMACAB, rowAddr(3, 0)); got != CmdACTAB {
		t.Fatalf("MACAB on closed banks needs %v, want ACTAB", got)
	}
	d.Issue(CmdACTAB, rowAddr(3, 0), 0)
	if d.Ready(CmdMACAB, rowAddr(3, 0), int64(tm.RCDRD-1)) {
		t.Errorf("MACAB ready at nRCDRD-1 = %d after ACTAB at 0", tm.RCDRD-1)
	}
	if !d.Ready(CmdMACAB, rowAddr(3, 0), int64(tm.RCDRD)) {
		t.Errorf("MACAB not ready at nRCDRD = %d after ACTAB at 0", tm.RCDRD)
	}
}

func TestMACABSpacingIsCCDAB(t *testing.T) {
	for _, powerLimit := range []bool{true, false} {
		s := HBM3PIM(powerLimit)
		tm := s.Timing
		d := NewDevice(s)
		d.Issue(CmdACTAB, rowAddr(0, 0), 0)
		first := int64(tm.RCDRD)
		d.Issue(CmdMACAB, rowAddr(0, 0), first)
		if d.Ready(CmdMACAB, rowAddr(0, 1), first+int64(tm.CCDAB)-1) {
			t.Errorf("power limit %v: second MACAB ready before nCCDAB", powerLimit)
		}
		if !d.Ready(CmdMACAB, rowAddr(0, 1), first+int64(tm.CCDAB)) {
			t.Errorf("power limit %v: second MACAB not ready at nCCDAB", powerLimit)
		}
	}
}

func TestSameRowNeedsNoSecondACTAB(t *testing.T) {
	s := HBM3PIM(true)
	d := NewDevice(s)
	d.Issue(CmdACTAB, rowAddr(7, 0), 0)
	cases := []struct {
		name string
		a    Addr
		want Command
	}{
		{"same row, other column", rowAddr(7, 31), CmdMACAB},
		{"other row", rowAddr(8, 0), CmdPREA},
	}
	for _, c := range cases {
		if got := d.Prerequisite(CmdMACAB, c.a); got != c.want {
			t.Errorf("%s: prerequisite %v, want %v", c.name, got, c.want)
		}
	}
	// Through the controller: 32 MACs in one row open it once.
	var cnt CommandCounter
	d = NewDevice(s)
	d.AddObserver(&cnt)
	var reqs []Request
	for col := 0; col < s.Org.Columns; col++ {
		reqs = append(reqs, Request{CmdMACAB, rowAddr(0, col)})
	}
	NewController(d).Run(reqs)
	if cnt.Count(CmdACTAB) != 1 || cnt.Count(CmdPREA) != 0 {
		t.Errorf("one row of MACs: %d ACTAB, %d PREA; want 1 and 0", cnt.Count(CmdACTAB), cnt.Count(CmdPREA))
	}
}

func TestRowSwitchCostsRTPLPlusRPPlusRCDRD(t *testing.T) {
	s := HBM3PIM(true)
	tm := s.Timing
	d := NewDevice(s)
	var log CommandLog
	d.AddObserver(&log)
	var reqs []Request
	for row := 0; row < 2; row++ {
		for col := 0; col < s.Org.Columns; col++ {
			reqs = append(reqs, Request{CmdMACAB, rowAddr(row, col)})
		}
	}
	ctl := NewController(d)
	ctl.SetRefresh(false)
	ctl.Run(reqs)
	macs := log.Times(CmdMACAB)
	if len(macs) != 2*s.Org.Columns {
		t.Fatalf("%d MACs issued, want %d", len(macs), 2*s.Org.Columns)
	}
	for i := 1; i < len(macs); i++ {
		want := int64(tm.CCDAB)
		if i == s.Org.Columns {
			want = int64(tm.RTPL + tm.RP + tm.RCDRD)
		}
		if got := macs[i] - macs[i-1]; got != want {
			t.Errorf("MAC %d - MAC %d = %d cycles, want %d", i, i-1, got, want)
		}
	}
	preas := log.Times(CmdPREA)
	if len(preas) != 1 || preas[0] != macs[s.Org.Columns-1]+int64(tm.RTPL) {
		t.Errorf("PREA at %v, want one at last MAC + nRTPL = %d", preas, macs[s.Org.Columns-1]+int64(tm.RTPL))
	}
}

func TestPREAWaitsForRAS(t *testing.T) {
	s := HBM3PIM(true)
	tm := s.Timing
	d := NewDevice(s)
	d.Issue(CmdACTAB, rowAddr(0, 0), 0)
	d.Issue(CmdMACAB, rowAddr(0, 0), int64(tm.RCDRD))
	// nRCDRD + nRTPL < nRAS, so nRAS decides.
	if d.Ready(CmdPREA, AllBanks, int64(tm.RAS-1)) || !d.Ready(CmdPREA, AllBanks, int64(tm.RAS)) {
		t.Errorf("PREA after ACTAB at 0 must become ready exactly at nRAS = %d", tm.RAS)
	}
}

func TestRefreshEveryREFI(t *testing.T) {
	s := HBM3PIM(true)
	tm := s.Timing
	d := NewDevice(s)
	var log CommandLog
	d.AddObserver(&log)
	// A long row-hitting MAC stream: about 4 refresh intervals.
	var reqs []Request
	n := 4 * tm.REFI / tm.CCDAB
	for i := 0; i < n; i++ {
		reqs = append(reqs, Request{CmdMACAB, rowAddr(i/s.Org.Columns, i%s.Org.Columns)})
	}
	cycles := NewController(d).Run(reqs)
	refs := log.Times(CmdREFab)
	intervals := int(cycles) / tm.REFI
	if len(refs) != intervals*s.Org.PseudoChannels {
		t.Fatalf("%d REFab in %d cycles, want %d (one per pseudo-channel every nREFI = %d)",
			len(refs), cycles, intervals*s.Org.PseudoChannels, tm.REFI)
	}
	for i, r := range refs {
		k := int64(i/s.Org.PseudoChannels + 1)
		due := k * int64(tm.REFI)
		if r < due || r >= due+int64(tm.REFI) {
			t.Errorf("REFab %d at cycle %d, want in [%d, %d) (requested at %d·nREFI)", i, r, due, due+int64(tm.REFI), k)
		}
	}
	// After a refresh of pseudo-channel 0 (where the all-bank commands are
	// addressed, as in AttAcc's traces) the next ACTAB waits nRFC.
	acts := log.Times(CmdACTAB)
	for _, l := range log.Lines {
		if l.Cmd != CmdREFab || l.Addr.PseudoChannel != 0 {
			continue
		}
		r := l.Clk
		for _, a := range acts {
			if a > r && a < r+int64(tm.RFC) {
				t.Errorf("ACTAB at %d within nRFC = %d of REFab at %d", a, tm.RFC, r)
			}
		}
	}
}

func TestRefreshNeedsAllBanksClosed(t *testing.T) {
	d := NewDevice(HBM3PIM(true))
	ref := Addr{0, -1, -1, -1, -1, -1}
	if got := d.Prerequisite(CmdREFab, ref); got != CmdREFab {
		t.Errorf("closed banks: refresh prerequisite %v, want REFab", got)
	}
	d.Issue(CmdACTAB, rowAddr(0, 0), 0)
	if got := d.Prerequisite(CmdREFab, ref); got != CmdPREA {
		t.Errorf("open row: refresh prerequisite %v, want PREA", got)
	}
}

func TestDataPathSpacing(t *testing.T) {
	s := HBM3PIM(true)
	tm := s.Timing
	cases := []struct {
		name   string
		second Addr
		want   int
	}{
		{"same bank group: nCCDL", Addr{0, 0, 0, 1, 0, 0}, tm.CCDL},
		{"other bank group, same rank: nCCDS", Addr{0, 0, 1, 0, 0, 0}, max(tm.CCDS, tm.BL)},
		{"other rank, same pseudo-channel: nBL", Addr{0, 1, 0, 0, 0, 0}, tm.BL},
		{"other pseudo-channel: free", Addr{1, 0, 0, 0, 0, 0}, 0},
	}
	for _, c := range cases {
		d := NewDevice(s)
		d.Issue(CmdMVSB, Addr{0, 0, 0, 0, 0, 0}, 10)
		if c.want > 0 && d.Ready(CmdMVGB, c.second, int64(10+c.want-1)) {
			t.Errorf("%s: ready one cycle early", c.name)
		}
		if !d.Ready(CmdMVGB, c.second, int64(10+c.want)) {
			t.Errorf("%s: not ready after %d cycles", c.name, c.want)
		}
	}
}

func TestIssueBeforeReadyPanics(t *testing.T) {
	s := HBM3PIM(true)
	d := NewDevice(s)
	d.Issue(CmdACTAB, rowAddr(0, 0), 0)
	defer func() {
		r := recover()
		if r == nil || !strings.HasPrefix(r.(string), "pim: ") {
			t.Errorf("early MACAB: recovered %v, want a pim: panic", r)
		}
	}()
	d.Issue(CmdMACAB, rowAddr(0, 0), int64(s.Timing.RCDRD-1))
}

// Dual issue: one row and one column command per cycle at most, and the
// first ACTAB goes out next to the first WR_GB.
func TestDualIssueOneRowOneColumnPerCycle(t *testing.T) {
	s := HBM3PIM(true)
	d := NewDevice(s)
	var log CommandLog
	d.AddObserver(&log)
	NewController(d).Run(AttAccRequests(s, 300))
	type slot struct{ row, col int }
	per := map[int64]*slot{}
	for _, l := range log.Lines {
		p := per[l.Clk]
		if p == nil {
			p = &slot{}
			per[l.Clk] = p
		}
		if l.Cmd.IsRow() {
			p.row++
		} else {
			p.col++
		}
		if p.row > 1 || p.col > 1 {
			t.Fatalf("cycle %d: %d row and %d column commands", l.Clk, p.row, p.col)
		}
	}
	if log.Lines[0].Cmd != CmdWRGB || log.Lines[1].Cmd != CmdACTAB || log.Lines[1].Clk != log.Lines[0].Clk {
		t.Errorf("first cycle: %v, %v; want WRGB and ACTAB together", log.Lines[0], log.Lines[1])
	}
}
