// Package pim simulates the HBM-PIM device that holds starc's KV cache.
package pim
