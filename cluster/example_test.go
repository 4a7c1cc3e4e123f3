package cluster_test

import (
	"fmt"

	"starc/cluster"
)

// Keys pointing roughly along x, along y, and one halfway: the released
// defaults seed the two centroids with the first two keys.
func ExampleKMeans_Fit() {
	keys := []float32{
		3, 0.1, // token 0
		0.2, 2, // token 1
		1, 0, // token 2
		0, 5, // token 3
		2, 0.3, // token 4
	}
	var res cluster.Result
	cluster.KMeans{K: 2}.Fit(&res, keys, 5, 2)
	fmt.Println("labels:", res.Labels)
	fmt.Println("sizes:", res.Sizes)
	fmt.Printf("centroid 0: %.3f\n", res.Centroids[0:2])
	// Output:
	// labels: [0 1 0 1 0]
	// sizes: [3 2]
	// centroid 0: [0.996 0.061]
}
