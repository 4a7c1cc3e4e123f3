package cluster

import (
	"fmt"
	"math"
	"math/rand/v2"

	"starc/model/kernels"
)

// Init chooses the initial centroids.
type Init int

const (
	// InitFirst takes the first K normalised rows (released STARC code).
	InitFirst Init = iota
	// InitRandom takes K distinct rows chosen uniformly (STARC paper:
	// "random initialization").
	InitRandom
	// InitPlusPlus is k-means++ seeding: the first centroid uniform, each
	// next one drawn with probability proportional to the squared distance
	// to the nearest centroid chosen so far (STARC arXiv v1).
	InitPlusPlus
)

// String returns the option name used on the command line.
func (i Init) String() string {
	switch i {
	case InitFirst:
		return "first"
	case InitRandom:
		return "random"
	case InitPlusPlus:
		return "kmeans++"
	}
	return fmt.Sprintf("Init(%d)", int(i))
}

// ParseInit is the inverse of Init.String.
func ParseInit(s string) (Init, error) {
	for _, i := range []Init{InitFirst, InitRandom, InitPlusPlus} {
		if i.String() == s {
			return i, nil
		}
	}
	return 0, fmt.Errorf("cluster: unknown k-means init %q (want first, random or kmeans++)", s)
}

// Metric is the assignment rule of a Lloyd iteration.
type Metric int

const (
	// Euclidean assigns a row to the centroid of least squared Euclidean
	// distance |x|² + |c|² − 2x·c (released STARC code). On unit rows and
	// non-normalised centroids this is not the same as cosine.
	Euclidean Metric = iota
	// Cosine assigns a row to the centroid of largest x·c/|c|; a zero
	// (empty) centroid scores 0.
	Cosine
)

// String returns the option name used on the command line.
func (m Metric) String() string {
	switch m {
	case Euclidean:
		return "euclidean"
	case Cosine:
		return "cosine"
	}
	return fmt.Sprintf("Metric(%d)", int(m))
}

// ParseMetric is the inverse of Metric.String.
func ParseMetric(s string) (Metric, error) {
	for _, m := range []Metric{Euclidean, Cosine} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("cluster: unknown k-means metric %q (want euclidean or cosine)", s)
}

// Defaults of the released code.
const (
	DefaultMaxIter = 16
	DefaultTol     = 1e-4
	relTol         = 1e-5 // torch.allclose's default rtol
	normEps        = 1e-12
)

// KMeans holds the options of one clustering. The zero value of MaxIter and
// Tol means the released defaults (16 iterations, 1e-4).
type KMeans struct {
	K       int     // clusters
	MaxIter int     // Lloyd iterations at most (0: 16)
	Tol     float32 // absolute centroid-movement tolerance (0: 1e-4; < 0: never stop early)
	Init    Init
	Metric  Metric
	Seed    uint64 // PCG seed for InitRandom and InitPlusPlus
}

// Result is the outcome of Fit. Its slices are owned by the Result and are
// overwritten by the next Fit into it.
type Result struct {
	Centroids []float32 // [K*dim] means of the unit rows of each cluster (zero if empty)
	Labels    []int     // [n] cluster of each row, 0..K-1
	Sizes     []int     // [K] members per cluster
	Iters     int       // Lloyd iterations performed (assignment passes)

	unit  []float32 // [n*dim] normalised rows
	unitN []float32 // [n] |x|² of the normalised rows (1 or 0)
	next  []float32 // [K*dim] centroids being computed
	cnorm []float32 // [K] |c|² (Euclidean) or |c| (Cosine)
	d2    []float64 // [n] k-means++ distances
	perm  []int32   // [n] random-init permutation
	pcg   rand.PCG
	rng   *rand.Rand
}

// Fit clusters the n rows of data ([n*dim], row-major) into km.K clusters
// and writes the result to dst, reusing its buffers.
//
// Hot path: STARC calls Fit for every 64-token window of every layer and KV
// head, so a warm dst makes Fit allocation-free.
func (km KMeans) Fit(dst *Result, data []float32, n, dim int) {
	k := km.K
	switch {
	case dim < 1:
		panic(fmt.Sprintf("cluster: dim %d < 1", dim))
	case k < 1:
		panic(fmt.Sprintf("cluster: K %d < 1", k))
	case k > n:
		panic(fmt.Sprintf("cluster: K %d > n %d rows", k, n))
	case len(data) < n*dim:
		panic(fmt.Sprintf("cluster: data has %d values, want n*dim = %d*%d", len(data), n, dim))
	case km.MaxIter < 0:
		panic(fmt.Sprintf("cluster: MaxIter %d < 0", km.MaxIter))
	}
	maxIter := km.MaxIter
	if maxIter == 0 {
		maxIter = DefaultMaxIter
	}
	tol := km.Tol
	if tol == 0 {
		tol = DefaultTol
	}
	dst.resize(n, k, dim)

	// 1. Unit rows.
	for i := range n {
		x := data[i*dim : (i+1)*dim]
		u := dst.unit[i*dim : (i+1)*dim]
		norm := float32(math.Sqrt(float64(kernels.Dot(x, x))))
		inv := 1 / max(norm, normEps)
		var s float32
		for j, v := range x {
			u[j] = v * inv
			s += u[j] * u[j]
		}
		dst.unitN[i] = s
	}

	// 2. Initial centroids.
	km.initCentroids(dst, n, dim)

	// 3. Lloyd iterations.
	cur, next := dst.Centroids, dst.next
	dst.Iters = 0
	for range maxIter {
		dst.Iters++
		assign(dst, cur, n, k, dim, km.Metric)
		mean(dst, next, n, k, dim)
		done := converged(cur, next, tol)
		cur, next = next, cur
		if done {
			break
		}
	}
	// cur now holds the means of the last assignment's members.
	dst.Centroids, dst.next = cur, next
}

func (r *Result) resize(n, k, dim int) {
	r.Centroids = grow(r.Centroids, k*dim)
	r.next = grow(r.next, k*dim)
	r.Labels = grow(r.Labels, n)
	r.Sizes = grow(r.Sizes, k)
	r.unit = grow(r.unit, n*dim)
	r.unitN = grow(r.unitN, n)
	r.cnorm = grow(r.cnorm, k)
}

// grow returns s resized to n, reallocating only when its capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func (km KMeans) initCentroids(dst *Result, n, dim int) {
	k := km.K
	switch km.Init {
	case InitFirst:
		copy(dst.Centroids, dst.unit[:k*dim])
	case InitRandom:
		rng := dst.seed(km.Seed)
		dst.perm = grow(dst.perm, n)
		for i := range dst.perm {
			dst.perm[i] = int32(i)
		}
		for j := range k { // partial Fisher–Yates
			r := j + rng.IntN(n-j)
			dst.perm[j], dst.perm[r] = dst.perm[r], dst.perm[j]
			row := int(dst.perm[j])
			copy(dst.Centroids[j*dim:(j+1)*dim], dst.unit[row*dim:(row+1)*dim])
		}
	case InitPlusPlus:
		rng := dst.seed(km.Seed)
		dst.d2 = grow(dst.d2, n)
		first := rng.IntN(n)
		copy(dst.Centroids[:dim], dst.unit[first*dim:(first+1)*dim])
		for i := range n {
			dst.d2[i] = sqDist(dst.unit[i*dim:(i+1)*dim], dst.Centroids[:dim])
		}
		for j := 1; j < k; j++ {
			var total float64
			for _, d := range dst.d2[:n] {
				total += d
			}
			pick := n - 1
			if total > 0 {
				r := rng.Float64() * total
				var cum float64
				for i, d := range dst.d2[:n] {
					cum += d
					if cum > r {
						pick = i
						break
					}
				}
			} else { // every row coincides with a chosen centroid
				pick = rng.IntN(n)
			}
			c := dst.Centroids[j*dim : (j+1)*dim]
			copy(c, dst.unit[pick*dim:(pick+1)*dim])
			for i := range n {
				dst.d2[i] = min(dst.d2[i], sqDist(dst.unit[i*dim:(i+1)*dim], c))
			}
		}
	default:
		panic(fmt.Sprintf("cluster: unknown Init %d", int(km.Init)))
	}
}

func (r *Result) seed(seed uint64) *rand.Rand {
	r.pcg.Seed(seed, 0)
	if r.rng == nil {
		r.rng = rand.New(&r.pcg)
	}
	return r.rng
}

// assign writes Labels for centroids c; ties go to the lowest cluster index.
func assign(r *Result, c []float32, n, k, dim int, metric Metric) {
	for j := range k {
		cj := c[j*dim : (j+1)*dim]
		r.cnorm[j] = kernels.Dot(cj, cj)
		if metric == Cosine {
			r.cnorm[j] = float32(math.Sqrt(float64(r.cnorm[j])))
		}
	}
	for i := range n {
		x := r.unit[i*dim : (i+1)*dim]
		best := 0
		switch metric {
		case Euclidean:
			bestD := float32(math.Inf(1))
			for j := range k {
				d := r.unitN[i] + r.cnorm[j] - 2*kernels.Dot(x, c[j*dim:(j+1)*dim])
				if d < bestD {
					best, bestD = j, d
				}
			}
		case Cosine:
			bestS := float32(math.Inf(-1))
			for j := range k {
				var s float32
				if r.cnorm[j] > 0 {
					s = kernels.Dot(x, c[j*dim:(j+1)*dim]) / r.cnorm[j]
				}
				if s > bestS {
					best, bestS = j, s
				}
			}
		default:
			panic(fmt.Sprintf("cluster: unknown Metric %d", int(metric)))
		}
		r.Labels[i] = best
	}
}

// mean writes the member means of the current Labels to c and fills Sizes.
func mean(r *Result, c []float32, n, k, dim int) {
	clear(c)
	clear(r.Sizes)
	for i := range n {
		l := r.Labels[i]
		r.Sizes[l]++
		kernels.Add(c[l*dim:(l+1)*dim], r.unit[i*dim:(i+1)*dim]) // element-wise: the plain loop's sums
	}
	for l := range k {
		if r.Sizes[l] == 0 {
			continue // empty cluster: zero centroid
		}
		kernels.Scale(c[l*dim:(l+1)*dim], 1/float32(r.Sizes[l]))
	}
}

// converged reports whether every element of next is within tol + 1e-5·|next|
// of old (torch.allclose(old, next, atol=tol)).
func converged(old, next []float32, tol float32) bool {
	for i, v := range next {
		d := v - old[i]
		if d < 0 {
			d = -d
		}
		if !(d <= tol+relTol*float32(math.Abs(float64(v)))) {
			return false
		}
	}
	return true
}

func sqDist(a, b []float32) float64 {
	var s float32
	for i, v := range a {
		d := v - b[i]
		s += d * d
	}
	return float64(s)
}
