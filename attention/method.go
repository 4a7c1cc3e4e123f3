package attention

import (
	"fmt"
	"sort"
	"strings"
)

// Method chooses, at one decode step, which cached tokens each query head
// attends to. One Method value serves one sequence of one model: it keeps
// per-(layer, KV head) state such as clusters or page bounds.
//
// Contract, in the order the Engine calls it at every decode step, for every
// layer at or above Config.DenseLayers and every KV head g:
//
//  1. Append(layer, g, pos, key) with the post-RoPE key of the new token.
//     Append is also called for every prompt token during prefill, in
//     position order, so the method sees every key exactly once.
//  2. Prepare(layer, g, n, mover) with n = tokens cached (pos+1). A method
//     that relocates tokens physically (STARC's cluster-contiguous remap)
//     calls mover.Move here; the Engine then moves the bytes in the Store.
//  3. Select(layer, h, q, n, dst) once for each query head h of group g,
//     h = g*QueryHeads/KVHeads ... (g+1)*QueryHeads/KVHeads-1.
//
// Select returns token positions (0..n-1, original order), not slots: the
// Engine maps positions to physical slots. The result must hold distinct
// positions; order does not matter. Unless a method documents otherwise it
// returns exactly min(Budget, n) positions, and all n when Budget >= n.
//
// Dense layers (layer < Config.DenseLayers) and prefill never reach Prepare
// or Select: the Engine attends to everything there.
//
// Methods panic on misuse (out-of-range layer or head): these are
// programming errors, not user errors.
type Method interface {
	// Name is the registry name, e.g. "starc".
	Name() string
	// Append records the key of token pos of (layer, kvHead).
	Append(layer, kvHead, pos int, key []float32)
	// Prepare brings (layer, kvHead) up to date with n cached tokens.
	Prepare(layer, kvHead, n int, mover Mover)
	// Select appends the positions query head head attends to and returns dst.
	Select(layer, head int, q []float32, n int, dst []int) []int
	// Reset forgets the sequence; the shape stays.
	Reset()
}

// groupSelector is implemented by a method that can select for all the
// query heads of one KV group in one call, reading the group's keys once
// for all of them. q holds the group's GroupSize queries ([GroupSize*
// HeadDim]); dst[i] receives (appended) the selection of query head
// kvHead*GroupSize+i, exactly what Select would return for it. The Engine
// calls it in place of the Select loop when there is no sliding window.
type groupSelector interface {
	selectGroup(layer, kvHead int, q []float32, n int, dst [][]int)
}

// Mover is how a method relocates tokens in the physical store.
type Mover interface {
	// Move places token positions pos[i] at physical slots slot[i] of
	// (layer, kvHead). It must describe a permutation of the slots the
	// listed tokens occupied before the call. Each call is charged as
	// device writes when the store is a device.
	Move(layer, kvHead int, pos, slot []int)
}

// Config is what every method is built from: the model shape, the token
// budget and the method-specific knobs. Zero values mean "the released
// default" (see Defaults).
type Config struct {
	Layers     int // decoder layers
	QueryHeads int // query heads per layer
	KVHeads    int // key/value heads per layer (GQA: QueryHeads % KVHeads == 0)
	HeadDim    int // elements per head vector
	MaxTokens  int // capacity of the cache in tokens

	Budget      int // tokens attended per query head per step (0 = all)
	DenseLayers int // layers 0..DenseLayers-1 attend to everything (released STARC/Quest: 2)

	// STARC (arXiv 2505.05772, released code): see starc.md §1.
	Window            int    // tokens per clustering window (64)
	ClusterSize       int    // target tokens per cluster: K = ceil(window/ClusterSize) (16)
	ReclusterInterval int    // decode tokens buffered before they are clustered (64)
	KMeansIters       int    // Lloyd iterations at most (16)
	KMeansInit        string // "first" (released), "random", "kmeans++"
	KMeansMetric      string // "euclidean" on unit vectors (released), "cosine"

	// Quest: page size in tokens (16).
	PageSize int

	// SparQ: query components used for the approximate scores (HeadDim/8 when 0).
	SparQRank int

	// Streaming (attention sinks + recent window): sink tokens (4).
	Sinks int

	Seed uint64 // for randomised variants (k-means init "random"/"kmeans++")
}

// Defaults returns c with every zero knob set to the released default.
func (c Config) Defaults() Config {
	set := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	set(&c.Window, 64)
	set(&c.ClusterSize, 16)
	set(&c.ReclusterInterval, 64)
	set(&c.KMeansIters, 16)
	set(&c.PageSize, 16)
	set(&c.Sinks, 4)
	if c.SparQRank == 0 && c.HeadDim > 0 {
		c.SparQRank = max(1, c.HeadDim/8)
	}
	if c.KMeansInit == "" {
		c.KMeansInit = "first"
	}
	if c.KMeansMetric == "" {
		c.KMeansMetric = "euclidean"
	}
	return c
}

// Validate reports a configuration error in terms a user can act on.
func (c Config) Validate() error {
	switch {
	case c.Layers <= 0 || c.QueryHeads <= 0 || c.KVHeads <= 0 || c.HeadDim <= 0 || c.MaxTokens <= 0:
		return fmt.Errorf("attention: shape must be positive (layers %d, heads %d, kv heads %d, head dim %d, max tokens %d)",
			c.Layers, c.QueryHeads, c.KVHeads, c.HeadDim, c.MaxTokens)
	case c.QueryHeads%c.KVHeads != 0:
		return fmt.Errorf("attention: %d query heads are not a multiple of %d KV heads", c.QueryHeads, c.KVHeads)
	case c.Budget < 0:
		return fmt.Errorf("attention: budget %d is negative", c.Budget)
	case c.DenseLayers < 0:
		return fmt.Errorf("attention: dense layers %d is negative", c.DenseLayers)
	}
	return nil
}

// GroupSize is the number of query heads sharing one KV head.
func (c Config) GroupSize() int { return c.QueryHeads / c.KVHeads }

// Constructor builds a method from a validated, defaulted Config.
type Constructor func(Config) (Method, error)

// methods is the registry the CLI reads. It is an explicit table, not
// init-time self-registration, so that the set is greppable and fixed.
var methods = map[string]Constructor{
	"full":         newFull,
	"starc":        newSTARC,
	"quest":        newQuest,
	"quest-kernel": newQuestKernel,
	"topk":         newTopK,
	"sparq":        newSparQ,
	"streaming":    newStreaming,
}

// New builds the named method.
func New(name string, c Config) (Method, error) {
	ctor, ok := methods[name]
	if !ok {
		return nil, fmt.Errorf("attention: unknown method %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return ctor(c.Defaults())
}

// Names lists the registered methods, sorted.
func Names() []string {
	names := make([]string, 0, len(methods))
	for n := range methods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
