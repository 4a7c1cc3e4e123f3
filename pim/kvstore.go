package pim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
)

// Layout says how a KVStore places K/V vectors in the device.
type Layout int

const (
	// LayoutAttAcc is AttAcc's layout: one query head per channel, so a GQA
	// model's KV head is replicated on the channels of each of its query
	// heads and read once per query head (4× the traffic for Mistral-7B).
	LayoutAttAcc Layout = iota
	// LayoutGQA puts one KV head per channel and reads its K/V once per step
	// for all its query heads (the GEMV buffers hold the group's queries).
	LayoutGQA
)

func (l Layout) String() string {
	switch l {
	case LayoutAttAcc:
		return "attacc"
	case LayoutGQA:
		return "gqa"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// KVShape is the model-side shape of the KV cache.
type KVShape struct {
	Layers, KVHeads, QueryHeads, HeadDim, MaxTokens int
}

// ErrKVFull is wrapped when the KV cache does not fit the device.
var ErrKVFull = errors.New("pim: KV cache does not fit the device")

// CommandCounts counts issued commands by kind.
type CommandCounts struct {
	ACTAB int64 `json:"actab"`
	PREA  int64 `json:"prea"`
	REFab int64 `json:"refab"`
	MACAB int64 `json:"macab"`
	WRGB  int64 `json:"wrgb"`
	MVSB  int64 `json:"mvsb"`
	MVGB  int64 `json:"mvgb"`
	SFM   int64 `json:"sfm"`
	RD    int64 `json:"rd"`
	WR    int64 `json:"wr"`
}

func (c *CommandCounts) add(n *[numCommands]int64, times int64) {
	c.ACTAB += n[CmdACTAB] * times
	c.PREA += n[CmdPREA] * times
	c.REFab += n[CmdREFab] * times
	c.MACAB += n[CmdMACAB] * times
	c.WRGB += n[CmdWRGB] * times
	c.MVSB += n[CmdMVSB] * times
	c.MVGB += n[CmdMVGB] * times
	c.SFM += n[CmdSFM] * times
	c.RD += n[CmdRD] * times
	c.WR += n[CmdWR] * times
}

// StepReport is the hardware cost of one decode step (everything charged
// between two EndStep calls). Units are in the JSON names.
type StepReport struct {
	Step           int           `json:"step"`
	LatencyCycles  int64         `json:"latency_cycles"` // attention latency of the step, tCK cycles
	LatencyNS      float64       `json:"latency_ns"`
	EnergyPJ       float64       `json:"energy_pj"`
	RowActivations int64         `json:"row_activations"` // ACTAB: one row opened in every bank of a channel
	BytesFetched   int64         `json:"bytes_fetched"`   // bytes the GEMV units read from the cells
	BytesUsed      int64         `json:"bytes_used"`      // K/V bytes of the slots attention asked for
	BytesWritten   int64         `json:"bytes_written"`   // K/V bytes written (appends and moves)
	TokensRead     int64         `json:"tokens_read"`
	Reads          int64         `json:"reads"` // Read calls
	Commands       CommandCounts `json:"commands"`
}

// Add accumulates o into r (Step is kept).
func (r *StepReport) Add(o StepReport) {
	r.LatencyCycles += o.LatencyCycles
	r.LatencyNS += o.LatencyNS
	r.EnergyPJ += o.EnergyPJ
	r.RowActivations += o.RowActivations
	r.BytesFetched += o.BytesFetched
	r.BytesUsed += o.BytesUsed
	r.BytesWritten += o.BytesWritten
	r.TokensRead += o.TokensRead
	r.Reads += o.Reads
	c, d := &r.Commands, o.Commands
	c.ACTAB += d.ACTAB
	c.PREA += d.PREA
	c.REFab += d.REFab
	c.MACAB += d.MACAB
	c.WRGB += d.WRGB
	c.MVSB += d.MVSB
	c.MVGB += d.MVGB
	c.SFM += d.SFM
	c.RD += d.RD
	c.WR += d.WR
}

// KVStore keeps a model's K/V cache in the device as FP16 and charges every
// access to it. Layers, heads and slots are explicit arguments; a slot is a
// token position in the cache (STARC may move vectors between slots). Not
// safe for concurrent use.
//
// Per-step latency comes from the command-level engine run on each read's
// real access pattern (memoised by pattern shape, and a pattern met for the
// first time runs through the segment memo, segmemo.go, which simulates
// only the stretches of its request stream not met before: the same cycles
// and commands); reads of different KV heads run on different channels in
// parallel, layers one after another, so only the slowest read of a layer
// counts, and the engine runs only on the reads that may be it (bounds.go),
// on a goroutine of the store's own while the host computes the next
// layers (settle.go). The commands of a read come in closed form.
type KVStore struct {
	spec     Spec
	shape    KVShape
	layout   Layout
	pl       placement
	replicas int // channels holding a copy of one KV head
	queries  int // query heads served by one read
	channels int // channels of the device
	perChan  int // (KV head, replica) units sharing one channel

	k, v   [][]uint16 // [layer*KVHeads+kvHead] → slot*HeadDim+i, FP16 bits
	ctxLen []int      // [layer*KVHeads+kvHead] highest written slot + 1

	counts  []int32       // per group, scratch
	touched []int         // groups of the current read
	key     []byte        // pattern key scratch of the caller's goroutine
	engine  *sharedEngine // the part's engine and segment memo, shared by its stores
	sim     *simulator    // set by benchmarks only: charge with the engine alone
	tmp     []uint16

	cacheMu    sync.Mutex             // guards cache and engineRuns (the settler uses them too)
	cache      map[string]patternCost // engine costs by pattern shape (patternKey)
	engineRuns int64                  // reads the engine ran on (for benchmarks)

	step      int
	acc       StepReport
	layerChan []int64 // [layer*channels+ch] cycles in this step of the reads charged exactly
	total     StepReport

	// Reads of the open step whose cycles are only bounded (bounds.go) and
	// their settling (settle.go).
	pending    [][]pendingRead // [layer]
	pendGroups [][]int         // [layer] groups of pending[layer][i]: [off:off+n]
	latency    []int64         // [layer] cycles of a settled layer, -1 before
	handed     []bool          // [layer] handed to the settler this step
	collecting int             // the layer with pending reads not handed yet, or -1
	settler    settler
	settleKey  []byte  // pattern key scratch of settling
	lo, hi     []int64 // [channel] scratch of settling
	open       []int32 // [channel] scratch of settling: pending reads not yet run

	recording bool
	trace     Trace
	cur       TraceStep
}

// NewKVStore places shape in part s with the given layout. It fails with an
// error wrapping ErrKVFull when the cache does not fit, and with a plain
// error for a spec or shape it cannot use.
func NewKVStore(s Spec, shape KVShape, layout Layout) (*KVStore, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("pim: KV store: %w", err)
	}
	if s.PIM != PIMBank {
		return nil, fmt.Errorf("pim: KV store: part %q has PIM placement %v, the store needs one GEMV unit per bank", s.Name, s.PIM)
	}
	sh := shape
	for _, f := range []struct {
		name string
		v    int
	}{{"Layers", sh.Layers}, {"KVHeads", sh.KVHeads}, {"QueryHeads", sh.QueryHeads}, {"HeadDim", sh.HeadDim}, {"MaxTokens", sh.MaxTokens}} {
		if f.v <= 0 {
			return nil, fmt.Errorf("pim: KV store: shape.%s = %d, must be > 0", f.name, f.v)
		}
	}
	if sh.QueryHeads%sh.KVHeads != 0 {
		return nil, fmt.Errorf("pim: KV store: shape.QueryHeads = %d is not a multiple of KVHeads = %d", sh.QueryHeads, sh.KVHeads)
	}
	if span := s.Org.Banks * s.Org.ColumnBytes; (2*sh.HeadDim)%span != 0 {
		return nil, fmt.Errorf("pim: KV store: shape.HeadDim = %d: an FP16 vector (%d B) does not split into whole %d-byte columns over the %d banks of a bank group",
			sh.HeadDim, 2*sh.HeadDim, s.Org.ColumnBytes, s.Org.Banks)
	}
	group := sh.QueryHeads / sh.KVHeads
	st := &KVStore{spec: s, shape: sh, layout: layout, pl: newPlacement(s, sh.HeadDim, sh.MaxTokens)}
	switch layout {
	case LayoutAttAcc:
		st.replicas, st.queries = group, 1
	case LayoutGQA:
		st.replicas, st.queries = 1, group
	default:
		return nil, fmt.Errorf("pim: KV store: unknown layout %d", int(layout))
	}
	st.channels = s.Org.Stacks * s.Org.Channels
	units := sh.KVHeads * st.replicas
	st.perChan = ceilDiv(units, st.channels)
	need := st.perChan * sh.Layers * st.pl.rowsPerHead
	if need > s.Org.Rows {
		return nil, fmt.Errorf("pim: KV store: %d layers × %d KV heads (%d copies each, layout %v) × %d tokens of dim %d need %d rows per bank, %s has %d: %w",
			sh.Layers, sh.KVHeads, st.replicas, layout, sh.MaxTokens, sh.HeadDim, need, s.Name, s.Org.Rows, ErrKVFull)
	}
	n := sh.Layers * sh.KVHeads
	st.k, st.v, st.ctxLen = make([][]uint16, n), make([][]uint16, n), make([]int, n)
	st.counts = make([]int32, st.pl.groupsMax)
	st.cache = map[string]patternCost{}
	st.engine = sharedEngineFor(s)
	st.layerChan = make([]int64, sh.Layers*st.channels)
	st.pending, st.pendGroups = make([][]pendingRead, sh.Layers), make([][]int, sh.Layers)
	st.latency, st.handed, st.collecting = make([]int64, sh.Layers), make([]bool, sh.Layers), -1
	for l := range st.latency {
		st.latency[l] = -1
	}
	st.settler.run = st.drain
	st.lo, st.hi, st.open = make([]int64, st.channels), make([]int64, st.channels), make([]int32, st.channels)
	st.trace.Header = TraceHeader{Format: traceFormat, Version: traceVersion, Layers: sh.Layers, KVHeads: sh.KVHeads,
		QueryHeads: sh.QueryHeads, HeadDim: sh.HeadDim, MaxTokens: sh.MaxTokens, TokensPerRow: st.pl.g.partitions, Layout: layout.String()}
	return st, nil
}

// Shape returns the shape the store was built for.
func (s *KVStore) Shape() KVShape { return s.shape }

// Spec returns the device part.
func (s *KVStore) Spec() Spec { return s.spec }

func (s *KVStore) index(layer, kvHead int) int {
	if layer < 0 || layer >= s.shape.Layers || kvHead < 0 || kvHead >= s.shape.KVHeads {
		panic(fmt.Sprintf("pim: layer %d, KV head %d outside %d layers × %d KV heads", layer, kvHead, s.shape.Layers, s.shape.KVHeads))
	}
	return layer*s.shape.KVHeads + kvHead
}

func (s *KVStore) checkSlot(slot int) {
	if slot < 0 || slot >= s.shape.MaxTokens {
		panic(fmt.Sprintf("pim: slot %d outside [0, %d)", slot, s.shape.MaxTokens))
	}
}

// grow makes room for slot in the vectors of head i.
func (s *KVStore) grow(i, slot int) {
	need := (slot + 1) * s.shape.HeadDim
	if len(s.k[i]) >= need {
		return
	}
	n := max(need, 2*len(s.k[i]), 16*s.shape.HeadDim)
	n = min(n, s.shape.MaxTokens*s.shape.HeadDim)
	s.k[i] = append(s.k[i], make([]uint16, n-len(s.k[i]))...)
	s.v[i] = append(s.v[i], make([]uint16, n-len(s.v[i]))...)
}

// writeCost charges n vectors of K and V written (WR per column), each in
// every replica.
func (s *KVStore) chargeWrite(vectors int, alsoRead bool) {
	cols := int64(2 * s.shape.HeadDim * 2 / s.spec.Org.ColumnBytes) // K and V
	n := cols * int64(vectors) * int64(s.replicas)
	var c [numCommands]int64
	c[CmdWR] = n
	if alsoRead {
		c[CmdRD] = n
	}
	s.acc.Commands.add(&c, 1)
	s.acc.EnergyPJ += float64(n) * CommandEnergyPJ(s.spec, CmdWR, 1)
	if alsoRead {
		s.acc.EnergyPJ += float64(n) * CommandEnergyPJ(s.spec, CmdRD, 1)
	}
	s.acc.BytesWritten += n * int64(s.spec.Org.ColumnBytes)
}

// Write stores token slot's K and V (HeadDim values each, rounded to FP16)
// and charges the writes (WR commands and their energy, in every replica).
// Write latency is not part of the step latency (it overlaps the next
// layer's compute on the host).
func (s *KVStore) Write(layer, kvHead, slot int, k, v []float32) {
	i := s.index(layer, kvHead)
	s.checkSlot(slot)
	d := s.shape.HeadDim
	if len(k) != d || len(v) != d {
		panic(fmt.Sprintf("pim: Write: len(k) = %d, len(v) = %d, want HeadDim = %d", len(k), len(v), d))
	}
	s.grow(i, slot)
	dk, dv := s.k[i][slot*d:(slot+1)*d], s.v[i][slot*d:(slot+1)*d]
	for j := range d {
		dk[j] = f32ToF16(k[j])
		dv[j] = f32ToF16(v[j])
	}
	s.ctxLen[i] = max(s.ctxLen[i], slot+1)
	s.chargeWrite(1, false)
}

// Keys returns the device's FP16 key bits of (layer, kvHead) in place,
// indexed by slot: slot s is [s·HeadDim, (s+1)·HeadDim), for every slot
// below Len. The slice is the store's own memory, read-only to the caller
// (its capacity ends at Len, so an append cannot write into the store) and
// valid until the next Write, Move, Restore or Reset, which may move it.
// Reading it charges nothing: charge the access with Charge, as Read does.
func (s *KVStore) Keys(layer, kvHead int) []uint16 {
	i := s.index(layer, kvHead)
	n := s.ctxLen[i] * s.shape.HeadDim
	return s.k[i][:n:n]
}

// Values is Keys for the value vectors.
func (s *KVStore) Values(layer, kvHead int) []uint16 {
	i := s.index(layer, kvHead)
	n := s.ctxLen[i] * s.shape.HeadDim
	return s.v[i][:n:n]
}

// Len returns the highest written slot + 1 of (layer, kvHead).
func (s *KVStore) Len(layer, kvHead int) int { return s.ctxLen[s.index(layer, kvHead)] }

// Read copies the K and V vectors of slots into dstK and dstV
// (len(slots)·HeadDim each, in slot order; FP16-rounded values) and charges
// the attention access of those slots (see Charge).
// Attention reads the bytes in place instead (Keys, Values and Charge);
// Read is for callers that want float32 copies.
func (s *KVStore) Read(layer, kvHead int, slots []int, dstK, dstV []float32) {
	i := s.index(layer, kvHead)
	d := s.shape.HeadDim
	if len(dstK) < len(slots)*d || len(dstV) < len(slots)*d {
		panic(fmt.Sprintf("pim: Read: dst lengths %d, %d < %d slots × HeadDim %d", len(dstK), len(dstV), len(slots), d))
	}
	src, srv := s.k[i], s.v[i]
	for n, slot := range slots {
		s.checkSlot(slot)
		if (slot+1)*d > len(src) {
			panic(fmt.Sprintf("pim: Read: layer %d KV head %d slot %d was never written", layer, kvHead, slot))
		}
		f16ToF32Slice(dstK[n*d:(n+1)*d], src[slot*d:(slot+1)*d])
		f16ToF32Slice(dstV[n*d:(n+1)*d], srv[slot*d:(slot+1)*d])
	}
	s.Charge(layer, kvHead, slots)
}

// Charge accounts for the attention access of slots without copying data
// (Read = copy + Charge; attention calls it once per (layer, KV head) per
// step and reads Keys and Values in place): the PIM reads every 16-slot group holding a
// requested slot (K and V), activating exactly the rows that hold them, for
// every query head the layout serves from this copy. Commands, energy,
// row activations and bytes fetched/used go into the current step at once,
// the channel's cycles (command-level engine on this access pattern,
// memoised) by the time the step ends: a shape met before costs what the
// engine said; for a new one the store keeps bounds on its cycles
// (bounds.go) and runs the engine only on the reads that may be their
// layer's slowest, which are the only cycles a step's latency adds up. It
// does so on a goroutine of its own once the layer's reads are in: after
// the read of the layer's last KV head, or when a read of another layer
// comes (settle.go). Reading a layer again after that is allowed and
// waits for its settling.
//
// Hot path: once per (layer, KV head) per generated token.
func (s *KVStore) Charge(layer, kvHead int, slots []int) {
	i := s.index(layer, kvHead)
	if s.collecting >= 0 && s.collecting != layer {
		s.handOff(s.collecting)
	}
	if s.handed[layer] {
		s.reopen(layer)
	}
	d := s.shape.HeadDim
	tpg := s.pl.g.partitions
	s.touched = s.touched[:0]
	sorted := true
	for _, slot := range slots {
		s.checkSlot(slot)
		if slot >= s.ctxLen[i] {
			panic(fmt.Sprintf("pim: layer %d KV head %d slot %d was never written", layer, kvHead, slot))
		}
		g := slot / tpg
		if s.counts[g] == 0 {
			if len(s.touched) > 0 && g < s.touched[len(s.touched)-1] {
				sorted = false
			}
			s.touched = append(s.touched, g)
		}
		s.counts[g]++
	}
	if !sorted {
		slices.Sort(s.touched)
	}
	if s.recording {
		rows := make([]RowCount, len(s.touched))
		for n, g := range s.touched {
			rows[n] = RowCount{Row: g, Tokens: int(s.counts[g])}
		}
		s.cur.Reads = append(s.cur.Reads, TraceRead{Layer: layer, KVHead: kvHead, Context: s.ctxLen[i], Rows: rows})
	}
	for _, g := range s.touched {
		s.counts[g] = 0
	}
	cost, lo, hi, exact := s.readCost(s.touched)
	reps := int64(s.replicas)
	s.acc.Commands.add(&cost.n, reps)
	s.acc.RowActivations += cost.n[CmdACTAB] * reps
	s.acc.BytesFetched += cost.n[CmdMACAB] * int64(s.spec.Org.BanksPerChannel()*s.spec.Org.ColumnBytes) * reps
	s.acc.BytesUsed += int64(len(slots)) * int64(2*2*d) * reps
	s.acc.TokensRead += int64(len(slots))
	s.acc.Reads++
	s.acc.EnergyPJ += cost.energyPJ * float64(reps)
	if exact {
		for r := 0; r < s.replicas; r++ {
			s.layerChan[layer*s.channels+s.channel(kvHead, r)] += cost.cycles
		}
	} else { // only the slowest read of a layer needs its cycles: settled later
		s.pending[layer] = append(s.pending[layer], pendingRead{kvHead: kvHead, lo: lo, hi: hi,
			off: len(s.pendGroups[layer]), n: len(s.touched)})
		s.pendGroups[layer] = append(s.pendGroups[layer], s.touched...)
	}
	switch {
	case len(s.pending[layer]) == 0:
	case kvHead == s.shape.KVHeads-1: // the engine reads KV heads in order: the layer is in
		s.handOff(layer)
	default:
		s.collecting = layer
	}
}

// channel returns the channel of replica r of kvHead.
func (s *KVStore) channel(kvHead, r int) int { return (kvHead*s.replicas + r) % s.channels }

// readCost returns what reading the sorted groups costs: commands and
// energy always, and either the cycles (exact) or bounds on them. A shape
// met before costs what the engine said for it; a new one gets its
// commands in closed form and its cycles bounded (bounds.go), unless it
// may meet a refresh, which only the engine knows about.
func (s *KVStore) readCost(groups []int) (c patternCost, lo, hi int64, exact bool) {
	if len(groups) == 0 {
		return patternCost{}, 0, 0, true
	}
	s.key = s.patternKey(s.key[:0], groups)
	s.cacheMu.Lock()
	c, ok := s.cache[string(s.key)]
	s.cacheMu.Unlock()
	if ok {
		return c, c.cycles, c.cycles, true
	}
	if s.sim != nil { // the engine alone (benchmarks)
		c := s.patternCost(groups)
		return c, c.cycles, c.cycles, true
	}
	lo, hi = s.pl.cycleBounds(s.spec.Timing, groups, s.queries)
	if hi >= int64(s.spec.Timing.REFI) {
		c := s.patternCost(groups)
		return c, c.cycles, c.cycles, true
	}
	c.n = s.pl.readCommands(groups, s.queries)
	c.energyPJ = s.energyPJ(&c.n)
	return c, lo, hi, false
}

// energyPJ is the energy of one read issuing the commands n.
func (s *KVStore) energyPJ(n *[numCommands]int64) float64 {
	var e float64
	for cmd := Command(0); cmd < numCommands; cmd++ {
		e += float64(n[cmd]) * CommandEnergyPJ(s.spec, cmd, s.queries)
	}
	return e
}

// patternCost returns the engine's cost of reading the sorted groups,
// memoised by the pattern's shape (see patternKey); a new shape goes
// through the segment memo (segmemo.go). It leaves the shape in s.key.
func (s *KVStore) patternCost(groups []int) patternCost { return s.engineCost(&s.key, groups) }

// engineCost is patternCost with the key scratch key, so that the settler
// and the caller's goroutine can each have one.
func (s *KVStore) engineCost(key *[]byte, groups []int) patternCost {
	if len(groups) == 0 {
		return patternCost{}
	}
	*key = s.patternKey((*key)[:0], groups)
	s.cacheMu.Lock()
	c, ok := s.cache[string(*key)]
	s.cacheMu.Unlock()
	if ok {
		return c
	}
	if s.sim != nil { // the engine alone (benchmarks)
		c = s.pl.simulateOn(s.sim, groups, s.queries)
	} else {
		c = s.engine.cost(s.pl, groups, s.queries)
	}
	c.energyPJ = s.energyPJ(&c.n)
	s.cacheMu.Lock()
	s.engineRuns++
	if len(s.cache) >= 1<<14 {
		clear(s.cache)
	}
	s.cache[string(*key)] = c
	s.cacheMu.Unlock()
	return c
}

// patternKey appends to dst the shape of reading the sorted, distinct
// groups: their number, then one bit per request of the K phase and one per
// group of the V phase saying whether it opens another row than the
// request before it. The request stream (placement.requests) depends on
// the groups only through the rows and columns it names, and the engine
// compares rows only for equality and never looks at columns; rows rise
// with the group inside the K area and inside each V slice (every slice
// starts on a row boundary, so all slices share the shape of slice 0) and
// the areas are disjoint. So two patterns with the same key are the same
// stream up to renaming rows and columns and cost the same, command for
// command and cycle for cycle (TestPatternKeyIsExact checks it against
// the engine). STARC's clusters and Quest's pages select different groups
// every step but few different shapes.
func (s *KVStore) patternKey(dst []byte, groups []int) []byte {
	k, cpr := s.pl.g.colsPerToken, s.pl.g.colsPerRow
	n := len(groups)
	dst = append(dst, byte(n), byte(n>>8), byte(n>>16))
	var acc byte
	bits := 0
	put := func(newRow bool) {
		if newRow {
			acc |= 1 << bits
		}
		if bits++; bits == 8 {
			dst = append(dst, acc)
			acc, bits = 0, 0
		}
	}
	prev := -1
	for _, g := range groups {
		for kk := range k {
			row := (g*k + kk) / cpr
			put(row != prev)
			prev = row
		}
	}
	prev = -1
	for _, g := range groups {
		row := g / cpr
		put(row != prev)
		prev = row
	}
	if bits > 0 {
		dst = append(dst, acc)
	}
	return dst
}

// Move copies the vectors of slots from[i] to slots to[i] (a permutation or
// a gather into fresh slots; all sources are read before any destination is
// written) and charges a read and a write of every moved vector.
func (s *KVStore) Move(layer, kvHead int, from, to []int) {
	i := s.index(layer, kvHead)
	if len(from) != len(to) {
		panic(fmt.Sprintf("pim: Move: %d sources, %d destinations", len(from), len(to)))
	}
	d := s.shape.HeadDim
	need := 2 * len(from) * d
	if cap(s.tmp) < need {
		s.tmp = make([]uint16, need)
	}
	tmp := s.tmp[:need]
	for n, f := range from {
		s.checkSlot(f)
		if (f+1)*d > len(s.k[i]) {
			panic(fmt.Sprintf("pim: Move: layer %d KV head %d slot %d was never written", layer, kvHead, f))
		}
		copy(tmp[2*n*d:], s.k[i][f*d:(f+1)*d])
		copy(tmp[(2*n+1)*d:], s.v[i][f*d:(f+1)*d])
	}
	for n, t := range to {
		s.checkSlot(t)
		s.grow(i, t)
		copy(s.k[i][t*d:(t+1)*d], tmp[2*n*d:(2*n+1)*d])
		copy(s.v[i][t*d:(t+1)*d], tmp[(2*n+1)*d:(2*n+2)*d])
		s.ctxLen[i] = max(s.ctxLen[i], t+1)
	}
	s.chargeWrite(len(from), true)
}

// SlotRow returns the device row (index inside its channel, as an ACTAB
// opens it) that holds the K vector of slot.
func (s *KVStore) SlotRow(layer, kvHead, slot int) int {
	s.index(layer, kvHead)
	s.checkSlot(slot)
	return s.regionBase(layer, kvHead) + s.pl.kRow(slot/s.pl.g.partitions)
}

// SlotRows returns the K row and the V rows (one per output slice) of slot.
func (s *KVStore) SlotRows(layer, kvHead, slot int) (kRow int, vRows []int) {
	base := s.regionBase(layer, kvHead)
	g := slot / s.pl.g.partitions
	kRow = base + s.pl.kRow(g)
	for n := 0; n < s.pl.g.colsPerToken; n++ {
		vRows = append(vRows, s.pl.vAddr(base, g, n).Row)
	}
	return kRow, vRows
}

// SlotLocation returns where slot's vectors live: its channel (replica 0),
// and pseudo-channel, rank and bank group (the partition of its group).
func (s *KVStore) SlotLocation(layer, kvHead, slot int) (channel int, a Addr) {
	s.index(layer, kvHead)
	s.checkSlot(slot)
	o := s.spec.Org
	p := slot % s.pl.g.partitions
	a = Addr{PseudoChannel: p / (o.Ranks * o.BankGroups), Rank: (p / o.BankGroups) % o.Ranks, BankGroup: p % o.BankGroups,
		Bank: -1, Row: s.SlotRow(layer, kvHead, slot), Column: (slot / s.pl.g.partitions * s.pl.g.colsPerToken) % s.pl.g.colsPerRow}
	return (kvHead * s.replicas) % s.channels, a
}

func (s *KVStore) regionBase(layer, kvHead int) int {
	u := kvHead * s.replicas
	return ((u/s.channels)*s.shape.Layers + layer) * s.pl.rowsPerHead
}

// EndStep closes one decode step and returns its report: latency is the sum
// over layers of the slowest channel's attention cycles. It waits for the
// layers being settled and settles the rest.
func (s *KVStore) EndStep() StepReport {
	s.settle()
	r := s.acc
	r.Step = s.step
	var cyc int64
	for l := 0; l < s.shape.Layers; l++ {
		row := s.layerChan[l*s.channels : (l+1)*s.channels]
		if s.latency[l] >= 0 {
			cyc += s.latency[l]
		} else {
			cyc += slices.Max(row)
		}
		clear(row)
	}
	s.dropPending()
	r.LatencyCycles = cyc
	r.LatencyNS = float64(cyc) * s.spec.TCKNS()
	s.total.Add(r)
	if s.recording {
		s.cur.Step = s.step
		s.trace.Steps = append(s.trace.Steps, s.cur)
		s.cur = TraceStep{}
	}
	s.acc = StepReport{}
	s.step++
	return r
}

// Total returns the sum of all step reports since NewKVStore or Reset.
func (s *KVStore) Total() StepReport { t := s.total; t.Step = s.step; return t }

// Reset empties the store for a new sequence: data, counters, steps and the
// recorded trace (recording stays on if it was). It waits for the settler.
func (s *KVStore) Reset() {
	for i := range s.k {
		s.k[i], s.v[i], s.ctxLen[i] = nil, nil, 0
	}
	s.acc, s.total, s.step = StepReport{}, StepReport{}, 0
	s.wait()
	clear(s.layerChan)
	s.dropPending()
	s.trace.Steps, s.cur = nil, TraceStep{}
}

// RecordTrace turns access-trace recording on or off.
func (s *KVStore) RecordTrace(on bool) { s.recording = on }

// Trace returns the trace recorded so far (shared; do not modify).
func (s *KVStore) Trace() *Trace { return &s.trace }

// f16ToF32Slice widens src into dst.
func f16ToF32Slice(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, h := range src {
		if e := h & 0x7c00; e != 0 && e != 0x7c00 {
			dst[i] = math.Float32frombits(uint32(h&0x8000)<<16 | (uint32(h&0x7fff)<<13 + 112<<23))
			continue
		}
		dst[i] = f16ToF32(h)
	}
}

// KVSnapshot is a copy of a KVStore's vectors and accounting, taken by
// SnapshotTo and put back by Restore; see those for the contract. The zero
// value is an empty snapshot; its buffers are reused by later SnapshotTo
// calls. A snapshot is only read by Restore, so several stores may restore
// from one snapshot, even concurrently.
type KVSnapshot struct {
	spec   Spec
	shape  KVShape
	layout Layout

	k, v   [][]uint16 // [layer*KVHeads+kvHead] FP16 bits of slots 0..ctxLen-1
	ctxLen []int      // [layer*KVHeads+kvHead]

	acc, total StepReport
	step       int
	layerChan  []int64     // [layer*channels+ch]
	steps      []TraceStep // recorded trace, deep copy
	cur        TraceStep   // trace of the open step, deep copy
}

// Bytes is the host memory the snapshot's vectors take.
func (s *KVSnapshot) Bytes() int64 {
	var n int64
	for i := range s.k {
		n += 2 * int64(len(s.k[i])+len(s.v[i]))
	}
	return n
}

// SnapshotTo copies into dst everything Restore needs to make another store
// of the same spec, shape and layout indistinguishable from this one: the
// written vectors (FP16 bits, by slot), each head's written length, the
// accounting (the open step, the totals, the step count, the per-channel
// cycles of the open step) and the recorded trace. The memoised pattern
// costs and the recording switch are not part of it. dst's buffers are
// reused when large enough. Reads of the open step whose cycles the store
// has only bounded so far are run through the engine first (after the
// settler, if running, is done).
func (s *KVStore) SnapshotTo(dst *KVSnapshot) {
	s.settleExactly()
	dst.spec, dst.shape, dst.layout = s.spec, s.shape, s.layout
	n, d := len(s.k), s.shape.HeadDim
	if len(dst.k) != n {
		dst.k, dst.v = make([][]uint16, n), make([][]uint16, n)
	}
	dst.ctxLen = append(dst.ctxLen[:0], s.ctxLen...)
	for i := range n {
		used := s.ctxLen[i] * d
		dst.k[i] = append(dst.k[i][:0], s.k[i][:used]...)
		dst.v[i] = append(dst.v[i][:0], s.v[i][:used]...)
	}
	dst.acc, dst.total, dst.step = s.acc, s.total, s.step
	dst.layerChan = append(dst.layerChan[:0], s.layerChan...)
	dst.steps = copyTraceSteps(dst.steps[:0], s.trace.Steps)
	dst.cur = TraceStep{Step: s.cur.Step, Reads: copyTraceReads(dst.cur.Reads[:0], s.cur.Reads)}
}

// Restore makes s hold exactly what src recorded (vectors, written lengths,
// accounting and, when s is recording, the trace), as if s had been through
// the same writes and reads; nothing s held or charged before survives. s
// must have been built with the same spec, shape and layout, else Restore
// returns an error and s is unchanged. Restoring into a store that already
// held as many tokens does not allocate, except to copy a recorded trace.
func (s *KVStore) Restore(src *KVSnapshot) error {
	switch {
	case src.spec != s.spec:
		return fmt.Errorf("pim: restore: snapshot of part %q into a store in part %q (or the same name with other parameters)", src.spec.Name, s.spec.Name)
	case src.shape != s.shape:
		return fmt.Errorf("pim: restore: snapshot of shape %+v into a store of shape %+v", src.shape, s.shape)
	case src.layout != s.layout:
		return fmt.Errorf("pim: restore: snapshot with layout %v into a store with layout %v", src.layout, s.layout)
	case len(src.k) != len(s.k):
		return fmt.Errorf("pim: restore: snapshot is empty or corrupt (%d heads, store has %d)", len(src.k), len(s.k))
	}
	d := s.shape.HeadDim
	for i := range s.k {
		if n := src.ctxLen[i]; n > 0 {
			s.grow(i, n-1)
		}
		used, old := src.ctxLen[i]*d, s.ctxLen[i]*d
		copy(s.k[i][:used], src.k[i])
		copy(s.v[i][:used], src.v[i])
		if old > used { // what this store wrote past the snapshot: zero, as never written
			clear(s.k[i][used:old])
			clear(s.v[i][used:old])
		}
		s.ctxLen[i] = src.ctxLen[i]
	}
	s.acc, s.total, s.step = src.acc, src.total, src.step
	s.wait()
	copy(s.layerChan, src.layerChan)
	s.dropPending()
	s.trace.Steps, s.cur = s.trace.Steps[:0], TraceStep{Reads: s.cur.Reads[:0]}
	if s.recording {
		s.trace.Steps = copyTraceSteps(s.trace.Steps, src.steps)
		s.cur = TraceStep{Step: src.cur.Step, Reads: copyTraceReads(s.cur.Reads, src.cur.Reads)}
	}
	return nil
}

func copyTraceSteps(dst, src []TraceStep) []TraceStep {
	for _, st := range src {
		dst = append(dst, TraceStep{Step: st.Step, Reads: copyTraceReads(nil, st.Reads)})
	}
	return dst
}

func copyTraceReads(dst, src []TraceRead) []TraceRead {
	for _, r := range src {
		r.Rows = slices.Clone(r.Rows)
		dst = append(dst, r)
	}
	return dst
}
