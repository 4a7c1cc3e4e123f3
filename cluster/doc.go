// Package cluster partitions key vectors with K-means, as STARC does before it
// lays a window of cached keys out cluster by cluster in the device.
//
// The default behaviour is the one of the released STARC artifact
// (evaluation/starc_attention.py, batched_kmeans; see starc.md §1.5):
//
//   - every input row is L2-normalised (a zero row stays zero);
//   - the initial centroids are the first K normalised rows, in input order;
//   - at most MaxIter Lloyd iterations: assign every row to the centroid of
//     least squared Euclidean distance (first centroid on ties), then replace
//     each centroid by the mean of its members; an empty cluster gets the
//     zero vector;
//   - stop as soon as every centroid element moved by at most
//     Tol + 1e-5·|new| (Tol = 1e-4), the test of torch.allclose.
//
// The returned labels are those of the last assignment and the returned
// centroids are the means of exactly those members, so labels and centroids
// always agree. Centroids are not re-normalised.
//
// The paper's variants are options: random or k-means++ initialisation
// (seeded, math/rand/v2 PCG, reproducible for a given Seed) and cosine
// assignment (largest x·c/|c|).
//
// Shapes and ownership: data is row-major [n*dim] float32 and is only read.
// A Result owns its buffers (Centroids [K*dim], Labels [n], Sizes [K] and
// private scratch); Fit resizes them only when they are too small, so a warm
// Result is refilled without allocation. Fit is deterministic: the same
// input, options and seed always give the same Result. A Result must not be
// shared between goroutines; distinct Results may be fitted concurrently.
//
// Misuse (K < 1, K > n, short data) panics with a "cluster: " prefix: the
// caller computes these sizes, a user never supplies them.
package cluster
