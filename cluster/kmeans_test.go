package cluster

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// blobs returns n rows of dim values drawn around k well-separated unit
// directions; row i belongs to blob i%k, so the first k rows cover every
// blob. spread is the per-element noise scale.
func blobs(n, dim, k int, spread float64, seed uint64) (data []float32, truth []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	centres := make([][]float64, k)
	for c := range centres {
		centres[c] = make([]float64, dim)
		centres[c][c%dim] = 1 // orthogonal directions
	}
	data = make([]float32, n*dim)
	truth = make([]int, n)
	for i := range n {
		c := i % k
		truth[i] = c
		scale := 1 + 3*rng.Float64() // keys differ in norm; K-means sees unit rows
		for j := range dim {
			data[i*dim+j] = float32(scale * (centres[c][j] + spread*rng.NormFloat64()))
		}
	}
	return data, truth
}

// samePartition reports whether labels equal truth up to a renaming of the
// clusters.
func samePartition(labels, truth []int) bool {
	fwd := map[int]int{}
	back := map[int]int{}
	for i := range labels {
		a, b := labels[i], truth[i]
		if x, ok := fwd[a]; ok && x != b {
			return false
		}
		if x, ok := back[b]; ok && x != a {
			return false
		}
		fwd[a], back[b] = b, a
	}
	return true
}

func TestFitRecoversSeparableBlobs(t *testing.T) {
	tests := []struct {
		name   string
		n, dim int
		k      int
		init   Init
		metric Metric
		seed   uint64
	}{
		{"first-K euclidean 64x64 k4", 64, 64, 4, InitFirst, Euclidean, 0},
		{"first-K cosine 64x64 k4", 64, 64, 4, InitFirst, Cosine, 0},
		{"first-K euclidean 200x16 k8", 200, 16, 8, InitFirst, Euclidean, 0},
		{"kmeans++ seed 1", 64, 64, 4, InitPlusPlus, Euclidean, 1},
		{"kmeans++ seed 2 cosine", 64, 64, 4, InitPlusPlus, Cosine, 2},
		{"kmeans++ seed 3 k8", 200, 16, 8, InitPlusPlus, Euclidean, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, truth := blobs(tc.n, tc.dim, tc.k, 0.05, 42)
			var res Result
			KMeans{K: tc.k, Init: tc.init, Metric: tc.metric, Seed: tc.seed}.Fit(&res, data, tc.n, tc.dim)
			if !samePartition(res.Labels, truth) {
				t.Fatalf("labels %v do not match planted blobs %v", res.Labels, truth)
			}
			for c, size := range res.Sizes {
				if size != tc.n/tc.k {
					t.Errorf("cluster %d has %d members, want %d", c, size, tc.n/tc.k)
				}
			}
			if res.Iters >= DefaultMaxIter {
				t.Errorf("took %d iterations on separable blobs, want early stop", res.Iters)
			}
		})
	}
}

func TestFitRandomInitTakesDistinctRows(t *testing.T) {
	// With MaxIter 1 and K = n, random init is a permutation of the rows, so
	// every row is its own cluster and every centroid is one unit row.
	const n, dim = 10, 3
	data, _ := blobs(n, dim, 5, 0.3, 7)
	var res Result
	KMeans{K: n, MaxIter: 1, Init: InitRandom, Seed: 9}.Fit(&res, data, n, dim)
	seen := map[int]bool{}
	for i, l := range res.Labels {
		if seen[l] {
			t.Fatalf("row %d shares cluster %d: random init repeated a row (labels %v)", i, l, res.Labels)
		}
		seen[l] = true
	}
}

func TestFitFirstKInit(t *testing.T) {
	// One Lloyd iteration from the first two unit rows. Row norms differ to
	// show the rows are normalised first.
	data := []float32{
		2, 0, // unit (1, 0)       → centroid 0 seed
		0, 3, // unit (0, 1)       → centroid 1 seed
		4, 4, // unit (.707, .707) → tie: first index wins → 0
		1, -0.1, // closer to (1, 0)
		-0.1, 1, // closer to (0, 1)
	}
	var res Result
	KMeans{K: 2, MaxIter: 1}.Fit(&res, data, 5, 2)
	if want := []int{0, 1, 0, 0, 1}; !slices.Equal(res.Labels, want) {
		t.Fatalf("labels %v, want %v", res.Labels, want)
	}
	if want := []int{3, 2}; !slices.Equal(res.Sizes, want) {
		t.Errorf("sizes %v, want %v", res.Sizes, want)
	}
	if res.Iters != 1 {
		t.Errorf("iters %d, want 1", res.Iters)
	}
	h := float32(1 / math.Sqrt2)
	n3 := float32(1 / math.Sqrt(1.01))
	want := []float32{
		(1 + h + n3) / 3, (0 + h - 0.1*n3) / 3,
		(0 - 0.1*n3) / 2, (1 + n3) / 2,
	}
	for i := range want {
		if d := res.Centroids[i] - want[i]; d > 1e-6 || d < -1e-6 {
			t.Errorf("centroid value %d = %v, want %v", i, res.Centroids[i], want[i])
		}
	}
}

func TestFitEmptyClusterGetsZeroCentroid(t *testing.T) {
	// The first two rows are equal, so both initial centroids coincide and
	// every tie goes to cluster 0: cluster 1 is empty from the first pass on.
	data := []float32{1, 0, 5, 0, 0, 1}
	var res Result
	KMeans{K: 2}.Fit(&res, data, 3, 2)
	if want := []int{0, 0, 0}; !slices.Equal(res.Labels, want) {
		t.Fatalf("labels %v, want %v", res.Labels, want)
	}
	if want := []int{3, 0}; !slices.Equal(res.Sizes, want) {
		t.Fatalf("sizes %v, want %v", res.Sizes, want)
	}
	if res.Centroids[2] != 0 || res.Centroids[3] != 0 {
		t.Errorf("empty centroid %v, want zero", res.Centroids[2:4])
	}
	// (0,1) is 0.889 from (2/3, 1/3) and 1 from the zero centroid: it stays.
	// Pass 2 reproduces pass 1's centroids, so the fit stops there.
	if res.Iters != 2 {
		t.Errorf("iters %d, want 2", res.Iters)
	}
}

func TestFitZeroRowStaysZero(t *testing.T) {
	data := []float32{0, 0, 1, 0, 1, 0.1}
	var res Result
	KMeans{K: 2}.Fit(&res, data, 3, 2)
	for i, v := range res.Centroids {
		if math.IsNaN(float64(v)) {
			t.Fatalf("centroid value %d is NaN: %v", i, res.Centroids)
		}
	}
}

func TestFitConvergenceStop(t *testing.T) {
	data, _ := blobs(64, 16, 4, 0.25, 5)
	tests := []struct {
		name      string
		tol       float32
		maxIter   int
		wantIters func(free int) int
	}{
		{"huge tolerance stops after one pass", 10, 0, func(int) int { return 1 }},
		{"max iterations caps the passes", 0, 2, func(int) int { return 2 }},
		{"default stops before the cap", 0, 0, func(free int) int { return free }},
	}
	var free Result
	KMeans{K: 4}.Fit(&free, data, 64, 16)
	if free.Iters < 3 || free.Iters >= DefaultMaxIter {
		t.Fatalf("test data converges in %d passes; want 3..15 to exercise the stop", free.Iters)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var res Result
			KMeans{K: 4, Tol: tc.tol, MaxIter: tc.maxIter}.Fit(&res, data, 64, 16)
			if want := tc.wantIters(free.Iters); res.Iters != want {
				t.Errorf("iters %d, want %d", res.Iters, want)
			}
			checkConsistent(t, &res, data, 64, 16)
		})
	}
	// At the stop, one more pass from the returned centroids moves nothing
	// by more than the tolerance.
	var again Result
	KMeans{K: 4, MaxIter: free.Iters + 1}.Fit(&again, data, 64, 16)
	if !slices.Equal(again.Labels, free.Labels) || again.Iters != free.Iters {
		t.Errorf("a larger cap changed the result: iters %d vs %d", again.Iters, free.Iters)
	}
}

// checkConsistent verifies the returned centroids are the means of the unit
// rows carrying each label and the sizes count them.
func checkConsistent(t *testing.T, res *Result, data []float32, n, dim int) {
	t.Helper()
	k := len(res.Sizes)
	sum := make([]float64, k*dim)
	cnt := make([]int, k)
	for i := range n {
		var norm float64
		for j := range dim {
			norm += float64(data[i*dim+j]) * float64(data[i*dim+j])
		}
		norm = max(math.Sqrt(norm), 1e-12)
		l := res.Labels[i]
		cnt[l]++
		for j := range dim {
			sum[l*dim+j] += float64(data[i*dim+j]) / norm
		}
	}
	if !slices.Equal(cnt, res.Sizes) {
		t.Errorf("sizes %v, counted %v", res.Sizes, cnt)
	}
	for l := range k {
		for j := range dim {
			want := 0.0
			if cnt[l] > 0 {
				want = sum[l*dim+j] / float64(cnt[l])
			}
			if d := math.Abs(float64(res.Centroids[l*dim+j]) - want); d > 1e-5 {
				t.Fatalf("centroid %d[%d] = %v, mean of members %v", l, j, res.Centroids[l*dim+j], want)
			}
		}
	}
}

func TestFitDeterministic(t *testing.T) {
	data, _ := blobs(64, 64, 4, 0.5, 11)
	for _, init := range []Init{InitFirst, InitRandom, InitPlusPlus} {
		t.Run(init.String(), func(t *testing.T) {
			km := KMeans{K: 4, Init: init, Seed: 77}
			var a, b Result
			km.Fit(&a, data, 64, 64)
			km.Fit(&b, data, 64, 64)
			// Refit into a warm, dirty Result too.
			km.Fit(&b, data, 64, 64)
			if !slices.Equal(a.Labels, b.Labels) || !slices.Equal(a.Centroids, b.Centroids) || a.Iters != b.Iters {
				t.Errorf("two fits differ")
			}
		})
	}
}

func TestFitNoAllocationWhenWarm(t *testing.T) {
	data, _ := blobs(64, 64, 4, 0.5, 3)
	for _, init := range []Init{InitFirst, InitRandom, InitPlusPlus} {
		t.Run(init.String(), func(t *testing.T) {
			km := KMeans{K: 4, Init: init, Seed: 1}
			var res Result
			km.Fit(&res, data, 64, 64)
			if a := testing.AllocsPerRun(20, func() { km.Fit(&res, data, 64, 64) }); a != 0 {
				t.Errorf("%v allocations per warm Fit, want 0", a)
			}
		})
	}
}

func TestFitPanicsOnMisuse(t *testing.T) {
	tests := []struct {
		name string
		km   KMeans
		data []float32
		n    int
		dim  int
	}{
		{"K zero", KMeans{K: 0}, []float32{1, 2}, 1, 2},
		{"K above n", KMeans{K: 3}, []float32{1, 2, 3, 4}, 2, 2},
		{"short data", KMeans{K: 1}, []float32{1, 2, 3}, 2, 2},
		{"zero dim", KMeans{K: 1}, nil, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic")
				}
			}()
			var res Result
			tc.km.Fit(&res, tc.data, tc.n, tc.dim)
		})
	}
}

func TestParseOptions(t *testing.T) {
	for _, s := range []string{"first", "random", "kmeans++"} {
		if i, err := ParseInit(s); err != nil || i.String() != s {
			t.Errorf("ParseInit(%q) = %v, %v", s, i, err)
		}
	}
	for _, s := range []string{"euclidean", "cosine"} {
		if m, err := ParseMetric(s); err != nil || m.String() != s {
			t.Errorf("ParseMetric(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := ParseInit("kmeans"); err == nil {
		t.Errorf("ParseInit accepted an unknown name")
	}
	if _, err := ParseMetric("manhattan"); err == nil {
		t.Errorf("ParseMetric accepted an unknown name")
	}
}

// sklearnCase is one case of testdata/sklearn_lloyd.json, written by
// testdata/sklearn_lloyd.py with scikit-learn's KMeans (algorithm "lloyd",
// init = the first K unit rows, n_init 1) in float64.
type sklearnCase struct {
	Name      string      `json:"name"`
	N         int         `json:"n"`
	Dim       int         `json:"dim"`
	K         int         `json:"k"`
	Data      []float32   `json:"data"`
	Labels    []int       `json:"labels"`
	Centroids [][]float64 `json:"centroids"`
	Iters     int         `json:"iters"`
}

// TestFitMatchesScikitLearn compares with an independent Lloyd
// implementation on data where no cluster empties (scikit-learn relocates
// empty clusters instead of zeroing them) and the fit converges.
func TestFitMatchesScikitLearn(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "sklearn_lloyd.json"))
	if err != nil {
		t.Fatalf("golden: %v", err)
	}
	var cases []sklearnCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatalf("golden: sklearn_lloyd.json: %v", err)
	}
	if len(cases) == 0 {
		t.Fatal("golden: sklearn_lloyd.json has no cases")
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			var res Result
			KMeans{K: tc.K}.Fit(&res, tc.Data, tc.N, tc.Dim)
			if !slices.Equal(res.Labels, tc.Labels) {
				t.Fatalf("labels\n got %v\nwant %v", res.Labels, tc.Labels)
			}
			for c := range tc.K {
				for j := range tc.Dim {
					got, want := float64(res.Centroids[c*tc.Dim+j]), tc.Centroids[c][j]
					if math.Abs(got-want) > 2e-6 {
						t.Fatalf("centroid %d[%d] = %v, scikit-learn %v", c, j, got, want)
					}
				}
			}
			t.Logf("iterations: ours %d, scikit-learn %d", res.Iters, tc.Iters)
		})
	}
}

func BenchmarkKMeans(b *testing.B) {
	for _, bc := range []struct {
		name   string
		spread float64
		tol    float32
	}{
		{"64x64/k4/blobs", 0.05, 0},
		{"64x64/k4/noise", 10, 0},
		{"64x64/k4/16passes", 10, -1}, // worst case: never stops early
	} {
		b.Run(bc.name, func(b *testing.B) {
			data, _ := blobs(64, 64, 4, bc.spread, 1)
			var res Result
			km := KMeans{K: 4, Tol: bc.tol}
			iters := 0
			for b.Loop() {
				km.Fit(&res, data, 64, 64)
				iters += res.Iters
			}
			b.ReportMetric(float64(iters)/float64(b.N), "iters/op")
		})
	}
}
