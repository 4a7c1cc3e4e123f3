package pim

import (
	"errors"
	"strings"
	"testing"
)

// The cycle column of attacc.md §2.4 (Ramulator preset HBM3_5.2Gbps,
// nRFC from tRFC = 350 ns with JEDEC rounding at 769 ps).
func TestHBM3PIMTimingMatchesAttAccTable(t *testing.T) {
	pc := HBM3PIM(true).Timing
	npc := HBM3PIM(false).Timing
	cases := []struct {
		name      string
		got, want int
	}{
		{"nBL", pc.BL, 2}, {"nCL", pc.CL, 19}, {"nRCDRD", pc.RCDRD, 19}, {"nRCDWR", pc.RCDWR, 19},
		{"nRP", pc.RP, 19}, {"nRAS", pc.RAS, 45}, {"nRC", pc.RC, 63}, {"nWR", pc.WR, 21},
		{"nRTPS", pc.RTPS, 6}, {"nRTPL", pc.RTPL, 8}, {"nCWL", pc.CWL, 6},
		{"nCCDS", pc.CCDS, 2}, {"nCCDL", pc.CCDL, 4},
		{"nCCDAB power limit", pc.CCDAB, 6}, {"nCCDSB power limit", pc.CCDSB, 6},
		{"nCCDAB no power limit", npc.CCDAB, 4}, {"nCCDSB no power limit", npc.CCDSB, 4},
		{"nRRDS", pc.RRDS, 2}, {"nRRDL", pc.RRDL, 4}, {"nWTRS", pc.WTRS, 8}, {"nWTRL", pc.WTRL, 11},
		{"nRTW", pc.RTW, 3}, {"nFAW", pc.FAW, 39}, {"nRFC", pc.RFC, 456}, {"nREFI", pc.REFI, 5070},
		{"nRREFD", pc.RREFD, 11},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %d cycles, want %d", c.name, c.got, c.want)
		}
	}
	if got := HBM3PIM(true).TCKNS(); got != 0.769 {
		t.Errorf("tCK = %v ns, want 0.769", got)
	}
}

// attacc.md §2.2: 16 channels × 8 Gb = 16 GiB per stack, 64 banks per
// channel, 1 KiB rows, 5 stacks per AttAcc = 80 GiB.
func TestHBM3PIMOrganisation(t *testing.T) {
	for _, s := range []Spec{HBM3PIM(true), HBM3PIM(false), HBM3()} {
		if err := s.Validate(); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		o := s.Org
		checks := []struct {
			name      string
			got, want int64
		}{
			{"banks per channel", int64(o.BanksPerChannel()), 64},
			{"row bytes", int64(o.RowBytes()), 1024},
			{"stack bytes", o.StackBytes(), 16 << 30},
			{"device bytes", o.DeviceBytes(), 80 << 30},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: %s = %d, want %d", s.Name, c.name, c.got, c.want)
			}
		}
	}
	if s := HBM3PIM(true); s.MACsPerCol*s.Org.BanksPerChannel() != 1024 {
		t.Errorf("MACs per MACAB = %d, want 1024 (attacc.md §2.3)", s.MACsPerCol*s.Org.BanksPerChannel())
	}
}

func TestValidateRejectsInconsistentSpecs(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*Spec)
		wantSub string
	}{
		{"density does not add up", func(s *Spec) { s.Org.ChannelDensityMbit = 16 << 10 }, "stated density is 16384 Mbit"},
		{"rows halved", func(s *Spec) { s.Org.Rows /= 2 }, "channel capacity from the organisation is 4096 Mbit"},
		{"zero banks", func(s *Spec) { s.Org.Banks = 0 }, "Org.Banks = 0"},
		{"stale cycle table", func(s *Spec) { s.TimingNS.RP = 20 }, "Timing is not TimingNS converted"},
		{"clock does not match rate", func(s *Spec) { s.TCKPS = 700 }, "TCKPS = 700 ps"},
		{"PIM part without MAC spacing", func(s *Spec) { s.TimingNS.CCDAB = 0; s.Timing = s.TimingNS.Cycles(s.TCKPS) }, "CCDAB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := HBM3PIM(true)
			c.edit(&s)
			err := s.Validate()
			if err == nil {
				t.Fatal("Validate accepted the spec")
			}
			if !errors.Is(err, ErrSpec) {
				t.Errorf("error %v does not wrap ErrSpec", err)
			}
			if !strings.Contains(err.Error(), c.wantSub) {
				t.Errorf("error %q does not mention %q", err, c.wantSub)
			}
		})
	}
}

// JEDEC rounding: round up with a 2.6 % guard band.
func TestJEDECRounding(t *testing.T) {
	cases := []struct {
		ns    float64
		tckPS int
		want  int
	}{
		{350, 769, 456},   // tRFC of an 8 Gb channel at 5.2 Gbps (attacc.md §2.4)
		{14.6, 769, 19},   // tRCD
		{15.0, 1000, 15},  // exact multiple stays
		{15.02, 1000, 15}, // inside the guard band
		{15.1, 1000, 16},  // outside: rounds up
	}
	for _, c := range cases {
		if got := jedecCycles(c.ns, c.tckPS); got != c.want {
			t.Errorf("jedecCycles(%v ns, %d ps) = %d, want %d", c.ns, c.tckPS, got, c.want)
		}
	}
}
