package pim

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/x448/float16"
)

func smolShape(maxTokens int) KVShape {
	return KVShape{Layers: 2, KVHeads: 3, QueryHeads: 9, HeadDim: 64, MaxTokens: maxTokens}
}

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// oracleF16 rounds with the independent x448/float16 library.
func oracleF16(v []float32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float16.Fromfloat32(x).Float32()
	}
	return out
}

func newStore(t *testing.T, shape KVShape, layout Layout) *KVStore {
	t.Helper()
	st, err := NewKVStore(HBM3PIM(true), shape, layout)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// fill writes random K/V for slots [0, n) of every (layer, head) and returns them.
func fill(st *KVStore, n int, seed uint64) (k, v map[[3]int][]float32) {
	rng := rand.New(rand.NewPCG(seed, 7))
	sh := st.Shape()
	k, v = map[[3]int][]float32{}, map[[3]int][]float32{}
	for l := 0; l < sh.Layers; l++ {
		for h := 0; h < sh.KVHeads; h++ {
			for s := 0; s < n; s++ {
				kk, vv := randVec(rng, sh.HeadDim), randVec(rng, sh.HeadDim)
				st.Write(l, h, s, kk, vv)
				k[[3]int{l, h, s}], v[[3]int{l, h, s}] = kk, vv
			}
		}
	}
	return k, v
}

func TestKVStoreReadReturnsF16RoundedWrites(t *testing.T) {
	for _, layout := range []Layout{LayoutAttAcc, LayoutGQA} {
		st := newStore(t, smolShape(512), layout)
		k, v := fill(st, 100, 1)
		slots := []int{99, 0, 17, 18, 64}
		d := st.Shape().HeadDim
		dk, dv := make([]float32, len(slots)*d), make([]float32, len(slots)*d)
		st.Read(1, 2, slots, dk, dv)
		for i, s := range slots {
			wantK, wantV := oracleF16(k[[3]int{1, 2, s}]), oracleF16(v[[3]int{1, 2, s}])
			if !slices.Equal(dk[i*d:(i+1)*d], wantK) || !slices.Equal(dv[i*d:(i+1)*d], wantV) {
				t.Fatalf("%v: slot %d: read back differs from the FP16-rounded write", layout, s)
			}
		}
	}
}

// rowsActivated runs the store's pattern for slots through a logged engine
// and returns the rows its ACTABs open (absolute rows of the region).
func rowsActivated(st *KVStore, layer, kvHead int, slots []int) []int {
	var groups []int
	for _, s := range slots {
		groups = append(groups, s/st.pl.g.partitions)
	}
	slices.Sort(groups)
	groups = slices.Compact(groups)
	d := NewDevice(st.spec)
	var log CommandLog
	d.AddObserver(&log)
	NewController(d).Run(st.pl.requests(groups, st.queries))
	var rows []int
	for _, l := range log.Lines {
		if l.Cmd == CmdACTAB {
			rows = append(rows, l.Addr.Row+st.regionBase(layer, kvHead))
		}
	}
	return rows
}

func TestKVStoreReadActivatesExactlyTheRowsHoldingTheSlots(t *testing.T) {
	st := newStore(t, smolShape(2048), LayoutGQA)
	fill(st, 2048, 2)
	cases := []struct {
		name  string
		slots []int
	}{
		{"one slot", []int{5}},
		{"one 16-slot row", []int{32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47}},
		{"scattered", []int{3, 700, 701, 1500, 2047, 260}},
		{"two DRAM rows apart", []int{0, 512, 1024}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := map[int]bool{}
			for _, s := range c.slots {
				kr, vr := st.SlotRows(1, 1, s)
				want[kr] = true
				for _, r := range vr {
					want[r] = true
				}
			}
			got := rowsActivated(st, 1, 1, c.slots)
			gotSet := map[int]bool{}
			for _, r := range got {
				gotSet[r] = true
			}
			if !reflect.DeepEqual(gotSet, want) {
				t.Errorf("rows activated %v, rows holding the slots %v", got, want)
			}
			if len(got) != len(want) {
				t.Errorf("%d activations for %d distinct rows (a row was opened twice)", len(got), len(want))
			}
			d := st.Shape().HeadDim
			st.Read(1, 1, c.slots, make([]float32, len(c.slots)*d), make([]float32, len(c.slots)*d))
			if r := st.EndStep(); r.RowActivations != int64(len(want)) {
				t.Errorf("report: %d row activations, want %d", r.RowActivations, len(want))
			}
		})
	}
}

func TestKVStoreMoveKeepsDataAndPacksRows(t *testing.T) {
	st := newStore(t, smolShape(1024), LayoutGQA)
	k, v := fill(st, 300, 3)
	st.EndStep()
	cluster := []int{3, 17, 40, 41, 63, 5, 299, 128, 150, 151, 152, 7, 250, 90, 91, 200}
	to := make([]int, len(cluster))
	for i := range to {
		to[i] = 320 + i // one fresh 16-slot row
	}
	st.Move(0, 1, cluster, to)
	d := st.Shape().HeadDim
	dk, dv := make([]float32, len(to)*d), make([]float32, len(to)*d)
	st.Read(0, 1, to, dk, dv)
	for i, s := range cluster {
		if !slices.Equal(dk[i*d:(i+1)*d], oracleF16(k[[3]int{0, 1, s}])) || !slices.Equal(dv[i*d:(i+1)*d], oracleF16(v[[3]int{0, 1, s}])) {
			t.Fatalf("moved slot %d -> %d: data differs", s, to[i])
		}
	}
	row := st.SlotRow(0, 1, to[0])
	for _, s := range to {
		if st.SlotRow(0, 1, s) != row || s/16 != to[0]/16 {
			t.Errorf("moved slot %d in row %d (group %d), want row %d (group %d)", s, st.SlotRow(0, 1, s), s/16, row, to[0]/16)
		}
	}
	r := st.EndStep()
	// Scattered: the cluster spans 12 groups; packed: one group, one K row and
	// one V row (HeadDim 64: one column per bank, one V slice).
	if r.RowActivations != 2 {
		t.Errorf("reading the packed cluster: %d row activations, want 2", r.RowActivations)
	}
	if r.BytesFetched != r.BytesUsed {
		t.Errorf("packed cluster: fetched %d bytes, used %d", r.BytesFetched, r.BytesUsed)
	}
	wantWR := int64(len(cluster)) * int64(2*2*d/32)
	if r.Commands.WR != wantWR || r.Commands.RD != wantWR {
		t.Errorf("move charged %d RD, %d WR; want %d each", r.Commands.RD, r.Commands.WR, wantWR)
	}
	// Permutation in place keeps data too.
	st.Move(0, 1, []int{0, 1}, []int{1, 0})
	st.Read(0, 1, []int{0}, dk, dv)
	if !slices.Equal(dk[:d], oracleF16(k[[3]int{0, 1, 1}])) {
		t.Errorf("swap: slot 0 does not hold slot 1's old key")
	}
}

// With the AttAcc layout and a full read of R = Gmax groups, the store's V
// layout coincides with AttAcc's trace, so its latency is the closed form.
func TestKVStoreFullReadLatencyIsClosedForm(t *testing.T) {
	const R = 64
	s := HBM3PIM(true)
	st, err := NewKVStore(s, KVShape{Layers: 1, KVHeads: 1, QueryHeads: 1, HeadDim: 128, MaxTokens: 16 * R}, LayoutAttAcc)
	if err != nil {
		t.Fatal(err)
	}
	fill(st, 16*R, 4)
	st.EndStep()
	slots := make([]int, 16*R)
	for i := range slots {
		slots[i] = i
	}
	st.Read(0, 0, slots, make([]float32, len(slots)*128), make([]float32, len(slots)*128))
	r := st.EndStep()
	cycles, cmds := ClosedFormAttention(s, R)
	if r.LatencyCycles != cycles {
		t.Errorf("store latency %d cycles, closed form %d", r.LatencyCycles, cycles)
	}
	if r.Commands.MACAB != cmds.MAC || r.Commands.MVSB != cmds.MVSB || r.Commands.MVGB != cmds.MVGB || r.Commands.WRGB != cmds.WRGB || r.Commands.SFM != cmds.SFM {
		t.Errorf("store commands %+v, closed form %+v", r.Commands, cmds)
	}
	if want := float64(cycles) * s.TCKNS(); r.LatencyNS != want {
		t.Errorf("latency %v ns, want cycles × tCK = %v", r.LatencyNS, want)
	}
	if r.BytesFetched != r.BytesUsed || r.BytesUsed != int64(16*R*2*2*128) {
		t.Errorf("full read: fetched %d, used %d, want both %d", r.BytesFetched, r.BytesUsed, 16*R*2*2*128)
	}
}

func TestKVStoreGQAReadsOncePerKVHead(t *testing.T) {
	reports := map[Layout]StepReport{}
	for _, layout := range []Layout{LayoutAttAcc, LayoutGQA} {
		st := newStore(t, smolShape(512), layout)
		fill(st, 200, 5)
		st.EndStep()
		slots := make([]int, 200)
		for i := range slots {
			slots[i] = i
		}
		d := st.Shape().HeadDim
		for l := 0; l < 2; l++ {
			for h := 0; h < 3; h++ {
				st.Read(l, h, slots, make([]float32, 200*d), make([]float32, 200*d))
			}
		}
		reports[layout] = st.EndStep()
	}
	a, g := reports[LayoutAttAcc], reports[LayoutGQA]
	group := int64(9 / 3)
	if a.Commands.MACAB != group*g.Commands.MACAB || a.RowActivations != group*g.RowActivations || a.BytesFetched != group*g.BytesFetched {
		t.Errorf("AttAcc layout should read K/V %d× as often: MACAB %d vs %d, ACTAB %d vs %d, bytes %d vs %d",
			group, a.Commands.MACAB, g.Commands.MACAB, a.RowActivations, g.RowActivations, a.BytesFetched, g.BytesFetched)
	}
	if g.Commands.WRGB != a.Commands.WRGB || g.Commands.SFM != a.Commands.SFM {
		t.Errorf("both layouts serve every query head: WRGB %d vs %d, SFM %d vs %d", g.Commands.WRGB, a.Commands.WRGB, g.Commands.SFM, a.Commands.SFM)
	}
	if g.BytesFetched <= g.BytesUsed {
		t.Errorf("200 tokens (not a multiple of 16): fetched %d should exceed used %d", g.BytesFetched, g.BytesUsed)
	}
}

func TestNewKVStoreErrors(t *testing.T) {
	cases := []struct {
		name    string
		spec    Spec
		shape   KVShape
		full    bool
		wantSub string
	}{
		{"does not fit", HBM3PIM(true), KVShape{Layers: 80, KVHeads: 200, QueryHeads: 200, HeadDim: 128, MaxTokens: 1 << 20}, true, "need"},
		{"zero head dim", HBM3PIM(true), KVShape{Layers: 1, KVHeads: 1, QueryHeads: 1, HeadDim: 0, MaxTokens: 16}, false, "shape.HeadDim = 0"},
		{"query heads not a multiple", HBM3PIM(true), KVShape{Layers: 1, KVHeads: 3, QueryHeads: 8, HeadDim: 64, MaxTokens: 16}, false, "QueryHeads = 8"},
		{"head dim does not split", HBM3PIM(true), KVShape{Layers: 1, KVHeads: 1, QueryHeads: 1, HeadDim: 80, MaxTokens: 16}, false, "HeadDim = 80"},
		{"no GEMV units", HBM3(), smolShape(16), false, "needs one GEMV unit per bank"},
		{"bad spec", func() Spec { s := HBM3PIM(true); s.Org.Rows = 3; return s }(), smolShape(16), false, "capacity"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewKVStore(c.spec, c.shape, LayoutGQA)
			if err == nil {
				t.Fatal("NewKVStore accepted it")
			}
			if errors.Is(err, ErrKVFull) != c.full {
				t.Errorf("errors.Is(err, ErrKVFull) = %v, want %v (%v)", !c.full, c.full, err)
			}
			if !strings.Contains(err.Error(), c.wantSub) {
				t.Errorf("error %q does not mention %q", err, c.wantSub)
			}
		})
	}
}

func TestKVStoreMisusePanics(t *testing.T) {
	st := newStore(t, smolShape(64), LayoutGQA)
	fill(st, 10, 6)
	cases := []struct {
		name string
		f    func()
	}{
		{"slot past MaxTokens", func() { st.Write(0, 0, 64, make([]float32, 64), make([]float32, 64)) }},
		{"unwritten slot", func() { st.Read(0, 0, []int{20}, make([]float32, 64), make([]float32, 64)) }},
		{"short dst", func() { st.Read(0, 0, []int{1, 2}, make([]float32, 64), make([]float32, 128)) }},
		{"bad layer", func() { st.Read(5, 0, []int{1}, make([]float32, 64), make([]float32, 64)) }},
		{"move length mismatch", func() { st.Move(0, 0, []int{1}, []int{2, 3}) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if r, ok := recover().(string); !ok || !strings.HasPrefix(r, "pim: ") {
					t.Errorf("recovered %v, want a pim: panic", r)
				}
			}()
			c.f()
		})
	}
}

func TestTraceRoundTrip(t *testing.T) {
	st := newStore(t, smolShape(256), LayoutGQA)
	fill(st, 100, 8)
	st.EndStep()
	st.RecordTrace(true)
	d := st.Shape().HeadDim
	buf := make([]float32, 100*d)
	for step := 0; step < 3; step++ {
		st.Read(0, 0, []int{0, 1, 2, 40, 99}, buf, buf)
		st.Read(1, 2, []int{50, 51, 52, 53}, buf, buf)
		st.EndStep()
	}
	tr := st.Trace()
	if len(tr.Steps) != 3 || len(tr.Steps[0].Reads) != 2 {
		t.Fatalf("recorded %d steps", len(tr.Steps))
	}
	want := []RowCount{{0, 3}, {2, 1}, {6, 1}}
	if got := tr.Steps[0].Reads[0].Rows; !reflect.DeepEqual(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	var b bytes.Buffer
	if err := WriteTrace(&b, tr); err != nil {
		t.Fatal(err)
	}
	back, err := ReadTrace(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, tr) {
		t.Errorf("round trip differs:\n%+v\n%+v", back, tr)
	}
	if !strings.Contains(b.String(), `"rows":[[0,3],[2,1],[6,1]]`) {
		t.Errorf("rows not encoded as pairs:\n%s", b.String())
	}
}

func TestReadTraceRejectsMalformed(t *testing.T) {
	hdr := `{"format":"starc-pim-trace","version":1,"layers":2,"kv_heads":1,"query_heads":1,"head_dim":64,"max_tokens":64,"tokens_per_row":16,"layout":"gqa"}` + "\n"
	cases := []struct {
		name, in, wantSub string
	}{
		{"empty", "", "empty"},
		{"wrong format", `{"format":"x","version":1}` + "\n", `format "x"`},
		{"future version", strings.Replace(hdr, `"version":1`, `"version":9`, 1), "version 9"},
		{"not json", hdr + "{\n", "line 2"},
		{"layer out of range", hdr + `{"step":0,"reads":[{"layer":2,"kv_head":0,"context":16,"rows":[[0,1]]}]}` + "\n", "layer 2"},
		{"row past context", hdr + `{"step":0,"reads":[{"layer":0,"kv_head":0,"context":16,"rows":[[1,1]]}]}` + "\n", "row 1 outside [0, 1)"},
		{"too many tokens", hdr + `{"step":0,"reads":[{"layer":0,"kv_head":0,"context":16,"rows":[[0,17]]}]}` + "\n", "17 tokens"},
		{"rows out of order", hdr + `{"step":0,"reads":[{"layer":0,"kv_head":0,"context":64,"rows":[[2,1],[1,1]]}]}` + "\n", "ascending"},
		{"bad pair", hdr + `{"step":0,"reads":[{"layer":0,"kv_head":0,"context":64,"rows":[[2]]}]}` + "\n", "line 2"},
		{"steps out of order", hdr + `{"step":1,"reads":[]}` + "\n" + `{"step":1,"reads":[]}` + "\n", "line 3: step 1 after step 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadTrace(strings.NewReader(c.in))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrTrace) {
				t.Errorf("%v does not wrap ErrTrace", err)
			}
			if !strings.Contains(err.Error(), c.wantSub) {
				t.Errorf("error %q does not mention %q", err, c.wantSub)
			}
		})
	}
}
