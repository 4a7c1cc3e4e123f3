package attention

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"starc/pim"
)

// opaque hides a store's in-place views, so the Engine copies rows out
// through Store.Read (the path of stores with no host-resident vectors).
type opaque struct{ Store }

// windowRun is a sequence of random post-RoPE q/k/v for an Engine test.
type windowRun struct {
	cfg     Config
	q       [][]float32 // [layer][pos*QDim]
	k, v    [][]float32 // [layer][pos*KVDim]
	prefill int
}

func newWindowRun(cfg Config, prefill int, seed uint64) *windowRun {
	rng := rand.New(rand.NewPCG(seed, 7))
	r := &windowRun{cfg: cfg, prefill: prefill}
	qd, kvd := cfg.QueryHeads*cfg.HeadDim, cfg.KVHeads*cfg.HeadDim
	for range cfg.Layers {
		r.q = append(r.q, gaussianVector(rng, cfg.MaxTokens*qd))
		r.k = append(r.k, gaussianVector(rng, cfg.MaxTokens*kvd))
		r.v = append(r.v, gaussianVector(rng, cfg.MaxTokens*kvd))
	}
	return r
}

// naive is softmax(q·Kᵀ/√d)·V of query head h of the token at pos over
// positions max(0, pos−w+1) … pos, straight from the definition in float64.
func (r *windowRun) naive(layer, h, pos, w int) []float32 {
	c := r.cfg
	hd, qd, kvd, g := c.HeadDim, c.QueryHeads*c.HeadDim, c.KVHeads*c.HeadDim, h/c.GroupSize()
	q := r.q[layer][pos*qd+h*hd : pos*qd+(h+1)*hd]
	lo := max(0, pos-w+1)
	scores := make([]float64, pos+1-lo)
	top := math.Inf(-1)
	for j := range scores {
		k := r.k[layer][(lo+j)*kvd+g*hd : (lo+j)*kvd+(g+1)*hd]
		for d := range hd {
			scores[j] += float64(q[d]) * float64(k[d])
		}
		scores[j] /= math.Sqrt(float64(hd))
		top = max(top, scores[j])
	}
	sum := 0.0
	for j := range scores {
		scores[j] = math.Exp(scores[j] - top)
		sum += scores[j]
	}
	out := make([]float64, hd)
	for j, s := range scores {
		v := r.v[layer][(lo+j)*kvd+g*hd : (lo+j)*kvd+(g+1)*hd]
		for d := range hd {
			out[d] += s / sum * float64(v[d])
		}
	}
	o := make([]float32, hd)
	for d := range hd {
		o[d] = float32(out[d])
	}
	return o
}

// drive prefills r.prefill tokens in blocks of block and decodes the rest
// up to MaxTokens, calling check with every token's attention output.
func (r *windowRun) drive(e *Engine, block int, check func(layer, pos int, out []float32)) {
	c := r.cfg
	qd, kvd := c.QueryHeads*c.HeadDim, c.KVHeads*c.HeadDim
	out := make([]float32, c.MaxTokens*qd)
	for p0 := 0; p0 < r.prefill; p0 += block {
		n := min(block, r.prefill-p0)
		for l := range c.Layers {
			o := out[:n*qd]
			e.Prefill(l, p0, n, r.q[l][p0*qd:(p0+n)*qd], r.k[l][p0*kvd:(p0+n)*kvd], r.v[l][p0*kvd:(p0+n)*kvd], o)
			for i := range n {
				check(l, p0+i, o[i*qd:(i+1)*qd])
			}
		}
	}
	for pos := r.prefill; pos < c.MaxTokens; pos++ {
		for l := range c.Layers {
			o := out[:qd]
			e.Decode(l, pos, r.q[l][pos*qd:(pos+1)*qd], r.k[l][pos*kvd:(pos+1)*kvd], r.v[l][pos*kvd:(pos+1)*kvd], o)
			check(l, pos, o)
		}
	}
}

// TestSlidingWindowAttendsToTheWindow: with a window of 7, prefill (in
// blocks that straddle the window) and decode give, for every token and
// query head, the attention over exactly the last 7 positions, computed
// from the definition; with every method at a budget of at least the
// window, over a store read in place and one copied out. The quality meter
// then finds every selection perfect.
func TestSlidingWindowAttendsToTheWindow(t *testing.T) {
	const w = 7
	cfg := Config{Layers: 2, QueryHeads: 4, KVHeads: 2, HeadDim: 8, MaxTokens: 48}
	run := newWindowRun(cfg, 20, 1)
	for _, method := range Names() {
		for _, kind := range []string{"dense", "copied"} {
			t.Run(method+"/"+kind, func(t *testing.T) {
				c := cfg
				if method != "full" {
					c.Budget = w
				}
				d, err := NewDense(c.Layers, c.KVHeads, c.HeadDim, c.MaxTokens)
				if err != nil {
					t.Fatal(err)
				}
				var store Store = d
				if kind == "copied" {
					store = opaque{d}
				}
				e, err := NewEngine(c, store, mustNewMethod(t, method, c), nil)
				if err != nil {
					t.Fatal(err)
				}
				e.SetSlidingWindow(w)
				e.EnableQuality()
				e.Reset() // keeps the window
				hd, worst := c.HeadDim, 0.0
				run.drive(e, 6, func(layer, pos int, out []float32) {
					for h := range c.QueryHeads {
						want := run.naive(layer, h, pos, w)
						for d := range hd {
							worst = max(worst, math.Abs(float64(out[h*hd+d]-want[d])))
						}
					}
				})
				if worst > 1e-5 {
					t.Errorf("max |out − windowed attention| = %.3g, want ≤ 1e-5", worst)
				}
				// The quality meter's full attention is the window's too.
				if _, top10, mass := e.Quality().Mean(); math.Abs(top10-1) > 1e-9 || math.Abs(mass-1) > 1e-6 {
					t.Errorf("quality against windowed full attention: top-10 recall %g, mass recall %g, want 1 and 1", top10, mass)
				}
			})
		}
	}
}

// TestSlidingWindowOnTheDevice is the window test with the KV cache in the
// PIM device (FP16 rows read in place; head dim 64, the device's column
// split), full attention and topk at the window's size, against the
// float64 definition within FP16's error.
func TestSlidingWindowOnTheDevice(t *testing.T) {
	const w = 9
	cfg := Config{Layers: 1, QueryHeads: 4, KVHeads: 2, HeadDim: 64, MaxTokens: 40}
	run := newWindowRun(cfg, 17, 3)
	for _, method := range []string{"full", "topk", "quest"} {
		t.Run(method, func(t *testing.T) {
			c := cfg
			if method != "full" {
				c.Budget = w
			}
			device, err := NewPIM(pim.HBM3PIM(true), c, pim.LayoutGQA)
			if err != nil {
				t.Fatal(err)
			}
			e, err := NewEngine(c, device, mustNewMethod(t, method, c), nil)
			if err != nil {
				t.Fatal(err)
			}
			e.SetSlidingWindow(w)
			hd, worst := c.HeadDim, 0.0
			run.drive(e, 5, func(layer, pos int, out []float32) {
				device.EndStep()
				for h := range c.QueryHeads {
					want := run.naive(layer, h, pos, w)
					for d := range hd {
						worst = max(worst, math.Abs(float64(out[h*hd+d]-want[d])))
					}
				}
			})
			t.Logf("max |out − windowed attention| = %.3g", worst)
			if worst > 5e-3 {
				t.Errorf("max |out − windowed attention| = %.3g, want ≤ 5e-3 (FP16 K/V)", worst)
			}
		})
	}
}

// TestSlidingWindowSelectionsStayInTheWindow: below the window's size,
// every method's every head attends only to positions in the window, at
// least its budget of them (the count it chose, cut to the window's size),
// and topk to the exact best of the window's keys.
func TestSlidingWindowSelectionsStayInTheWindow(t *testing.T) {
	const w, budget = 12, 5
	cfg := Config{Layers: 2, QueryHeads: 4, KVHeads: 2, HeadDim: 8, MaxTokens: 80, Budget: budget}
	run := newWindowRun(cfg, 30, 2)
	for _, method := range Names() {
		if method == "full" {
			continue
		}
		t.Run(method, func(t *testing.T) {
			d, err := NewDense(cfg.Layers, cfg.KVHeads, cfg.HeadDim, cfg.MaxTokens)
			if err != nil {
				t.Fatal(err)
			}
			e, err := NewEngine(cfg, d, mustNewMethod(t, method, cfg), nil)
			if err != nil {
				t.Fatal(err)
			}
			e.SetSlidingWindow(w)
			bad := 0
			e.OnSelect(func(layer, h, n int, slots []int) {
				pos := make([]int, len(slots))
				for i, s := range slots {
					pos[i] = -1
					for p := range n {
						if e.SlotOf(layer, h/cfg.GroupSize(), p) == s {
							pos[i] = p
						}
					}
				}
				slices.Sort(pos)
				lo := n - w
				distinct := len(slices.Compact(slices.Clone(pos))) == len(pos)
				if len(pos) < budget || pos[0] < lo || !distinct {
					bad++
					if bad <= 3 {
						t.Errorf("layer %d head %d, %d cached: selected %v, want at least %d distinct positions ≥ %d", layer, h, n, pos, budget, lo)
					}
				}
				if method == "topk" {
					qd, kvd, hd, g := cfg.QueryHeads*cfg.HeadDim, cfg.KVHeads*cfg.HeadDim, cfg.HeadDim, h/cfg.GroupSize()
					q := run.q[layer][(n-1)*qd+h*hd : (n-1)*qd+(h+1)*hd]
					scores := make([]float32, w)
					for j := range w {
						k := run.k[layer][(lo+j)*kvd+g*hd : (lo+j)*kvd+(g+1)*hd]
						for d := range hd {
							scores[j] += q[d] * k[d]
						}
					}
					order := make([]int, w)
					for j := range order {
						order[j] = j
					}
					slices.SortStableFunc(order, func(a, b int) int {
						switch {
						case scores[a] > scores[b]:
							return -1
						case scores[a] < scores[b]:
							return 1
						}
						return 0
					})
					want := order[:budget]
					for j := range want {
						want[j] += lo
					}
					slices.Sort(want)
					if !slices.Equal(pos, want) {
						t.Errorf("topk at %d cached: selected %v, the window's best %d are %v", n, pos, budget, want)
					}
				}
			})
			run.drive(e, 30, func(int, int, []float32) {})
			if bad > 0 {
				t.Errorf("%d selections outside the window or short of the budget", bad)
			}
		})
	}
}

func TestSetSlidingWindowPanicsWhenNegative(t *testing.T) {
	cfg := Config{Layers: 1, QueryHeads: 1, KVHeads: 1, HeadDim: 2, MaxTokens: 4}
	d, _ := NewDense(1, 1, 2, 4)
	e, err := NewEngine(cfg, d, mustNewMethod(t, "full", cfg), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	e.SetSlidingWindow(-1)
}

// BenchmarkPrefillWindow is one layer's prefill attention of 4096 tokens in
// 512-token blocks (9 query / 3 KV heads of 64, SmolLM2's shape) with no
// window and with windows of 1024 and 256: a block multiplies only the keys
// its queries can see.
func BenchmarkPrefillWindow(b *testing.B) {
	const n, block = 4096, 512
	cfg := Config{Layers: 1, QueryHeads: 9, KVHeads: 3, HeadDim: 64, MaxTokens: n}
	rng := rand.New(rand.NewPCG(5, 6))
	qd, kvd := cfg.QueryHeads*cfg.HeadDim, cfg.KVHeads*cfg.HeadDim
	q, k, v := gaussianVector(rng, n*qd), gaussianVector(rng, n*kvd), gaussianVector(rng, n*kvd)
	out := make([]float32, block*qd)
	for _, w := range []int{0, 1024, 256} {
		b.Run(fmt.Sprintf("window=%d", w), func(b *testing.B) {
			d, err := NewDense(cfg.Layers, cfg.KVHeads, cfg.HeadDim, n)
			if err != nil {
				b.Fatal(err)
			}
			e, err := NewEngine(cfg, d, mustNewMethod(b, "full", cfg), nil)
			if err != nil {
				b.Fatal(err)
			}
			e.SetSlidingWindow(w)
			for b.Loop() {
				e.Reset()
				for p0 := 0; p0 < n; p0 += block {
					e.Prefill(0, p0, block, q[p0*qd:(p0+block)*qd], k[p0*kvd:(p0+block)*kvd], v[p0*kvd:(p0+block)*kvd], out)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}

// TestSlidingWindowQuestAndSparQRankWithinTheWindow: quest, quest-kernel
// and sparq under a window choose what their definitions give when only
// the window's tokens (for Quest: the pages overlapping the window, bounds
// over each whole page) are candidates, computed here from the keys.
func TestSlidingWindowQuestAndSparQRankWithinTheWindow(t *testing.T) {
	const w, budget = 40, 8
	cfg := Config{Layers: 1, QueryHeads: 4, KVHeads: 2, HeadDim: 16, MaxTokens: 120, Budget: budget, PageSize: 4, SparQRank: 4}
	run := newWindowRun(cfg, 50, 4)
	hd, qd, kvd := cfg.HeadDim, cfg.QueryHeads*cfg.HeadDim, cfg.KVHeads*cfg.HeadDim
	key := func(g, p int) []float32 { return run.k[0][p*kvd+g*hd : p*kvd+(g+1)*hd] }
	// best returns the indices of the k largest scores, ties to the lower.
	best := func(scores []float64, k int) []int {
		order := make([]int, len(scores))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int {
			switch {
			case scores[a] > scores[b]:
				return -1
			case scores[a] < scores[b]:
				return 1
			}
			return 0
		})
		return order[:min(k, len(order))]
	}
	want := map[string]func(h, n int, q []float32) []int{
		"sparq": func(h, n int, q []float32) []int {
			abs := make([]float64, hd)
			for i, v := range q {
				abs[i] = math.Abs(float64(v))
			}
			comp := best(abs, cfg.SparQRank)
			slices.Sort(comp)
			lo := n - w
			scores := make([]float64, w)
			for j := range w {
				var s float32
				for _, i := range comp {
					s += q[i] * key(h/2, lo+j)[i]
				}
				scores[j] = float64(s)
			}
			sel := best(scores, budget)
			for i := range sel {
				sel[i] += lo
			}
			return sel
		},
	}
	for _, kernel := range []bool{false, true} {
		name := map[bool]string{false: "quest", true: "quest-kernel"}[kernel]
		want[name] = func(h, n int, q []float32) []int {
			ps, lo := cfg.PageSize, n-w
			p0, pages := lo/ps, (n+ps-1)/ps
			var bounds []float64
			for p := p0; p < pages; p++ {
				b := 0.0
				for i := range hd {
					hi, low := float32(math.Inf(-1)), float32(math.Inf(1))
					for tok := p * ps; tok < min((p+1)*ps, n); tok++ {
						hi, low = max(hi, key(h/2, tok)[i]), min(low, key(h/2, tok)[i])
					}
					b += max(float64(q[i])*float64(hi), float64(q[i])*float64(low))
				}
				bounds = append(bounds, b)
			}
			k := min(max(3, budget/ps), pages-p0)
			var chosen []int
			if kernel {
				chosen = append(best(bounds[:len(bounds)-1], k-1), len(bounds)-1)
			} else {
				chosen = best(bounds, k)
			}
			var sel []int
			for _, c := range chosen {
				p := p0 + c
				for tok := max(p*ps, lo); tok < min((p+1)*ps, n); tok++ {
					sel = append(sel, tok)
				}
			}
			return sel
		}
	}
	for name, ref := range want {
		t.Run(name, func(t *testing.T) {
			d, err := NewDense(cfg.Layers, cfg.KVHeads, cfg.HeadDim, cfg.MaxTokens)
			if err != nil {
				t.Fatal(err)
			}
			e, err := NewEngine(cfg, d, mustNewMethod(t, name, cfg), nil)
			if err != nil {
				t.Fatal(err)
			}
			e.SetSlidingWindow(w)
			checked, bad := 0, 0
			e.OnSelect(func(layer, h, n int, slots []int) {
				if n <= w {
					return
				}
				got := slices.Sorted(slices.Values(slots)) // slots are positions: neither method moves tokens
				exp := ref(h, n, run.q[0][(n-1)*qd+h*hd:(n-1)*qd+(h+1)*hd])
				slices.Sort(exp)
				checked++
				if !slices.Equal(got, exp) {
					bad++
					if bad <= 3 {
						t.Errorf("head %d at %d cached: selected %v, want %v", h, n, got, exp)
					}
				}
			})
			run.drive(e, 50, func(int, int, []float32) {})
			if checked == 0 || bad > 0 {
				t.Errorf("%d of %d selections differ from the definition", bad, checked)
			}
		})
	}
}

// TestSlidingWindowSTARCRanksClustersInTheWindow: STARC under a window
// attends to its buffer's tokens in the window, then to the window members
// of its clusters taken best first by q·μ (ties: earlier cluster) until the
// budget is filled: recomputed here from the method's clusters.
func TestSlidingWindowSTARCRanksClustersInTheWindow(t *testing.T) {
	const w, budget = 100, 40
	cfg := Config{Layers: 1, QueryHeads: 4, KVHeads: 2, HeadDim: 16, MaxTokens: 330, Budget: budget}
	run := newWindowRun(cfg, 200, 5)
	hd, qd := cfg.HeadDim, cfg.QueryHeads*cfg.HeadDim
	meth := mustNewMethod(t, "starc", cfg).(*starc)
	d, err := NewDense(cfg.Layers, cfg.KVHeads, cfg.HeadDim, cfg.MaxTokens)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(cfg, d, meth, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.SetSlidingWindow(w)
	checked, clustersUsed, bad := 0, 0, 0
	e.OnSelect(func(layer, h, n int, slots []int) {
		posOf := map[int]int{}
		for p := range n {
			posOf[e.SlotOf(layer, h/cfg.GroupSize(), p)] = p
		}
		var got []int
		for _, s := range slots {
			got = append(got, posOf[s])
		}
		slices.Sort(got)
		g := &meth.groups[layer*cfg.KVHeads+h/cfg.GroupSize()]
		q := run.q[layer][(n-1)*qd+h*hd : (n-1)*qd+(h+1)*hd]
		lo := n - w
		from := max(g.clustered, lo)
		var want []int
		for p := from; p < n; p++ {
			want = append(want, p)
		}
		if left := budget - (n - from); left > 0 && lo < g.clustered {
			clustersUsed++
			scores := make([]float32, len(g.size))
			var ids []int
			for id := range g.size {
				for i := range hd {
					scores[id] += q[i] * g.centroids[id*hd+i]
				}
				ids = append(ids, id)
			}
			slices.SortStableFunc(ids, func(a, b int) int {
				switch {
				case scores[a] > scores[b]:
					return -1
				case scores[a] < scores[b]:
					return 1
				}
				return 0
			})
			for _, id := range ids {
				for _, p := range g.posAt[g.start[id] : g.start[id]+g.size[id]] {
					if int(p) >= lo && left > 0 {
						want = append(want, int(p))
						left--
					}
				}
			}
		}
		slices.Sort(want)
		checked++
		if !slices.Equal(got, want) {
			bad++
			if bad <= 3 {
				t.Errorf("head %d at %d cached: selected %v, want %v", h, n, got, want)
			}
		}
	})
	run.drive(e, 200, func(int, int, []float32) {})
	if checked == 0 || clustersUsed == 0 || bad > 0 {
		t.Errorf("%d of %d selections differ (%d used clusters)", bad, checked, clustersUsed)
	}
}
