package kernels

import "golang.org/x/sys/cpu"

// detectISA picks the widest level this CPU and OS support.
func detectISA() isa {
	x := cpu.X86
	if !(x.HasAVX2 && x.HasFMA && x.HasF16C) {
		return isaGeneric
	}
	if x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL {
		return isaAVX512
	}
	return isaAVX2
}
