// Package k8s holds the Kubernetes deployment of starc grids (an Indexed
// Job, its merge Job, the spec's ConfigMap and a Dockerfile) and the test
// that checks the manifests against the real API types: strict decoding
// into k8s.io/api batch/v1 Job and core/v1 ConfigMap, and each completion
// index reaching `starc grid run` as its shard.
package k8s
