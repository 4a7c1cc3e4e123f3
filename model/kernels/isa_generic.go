//go:build !amd64

package kernels

func detectISA() isa { return isaGeneric }
