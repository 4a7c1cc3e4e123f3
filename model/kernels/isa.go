package kernels

// isa names an instruction-set level a kernel implementation targets.
type isa uint8

const (
	isaGeneric isa = iota // plain Go, any CPU
	isaAVX2               // AVX2 + FMA + F16C (256-bit)
	isaAVX512             // AVX-512 F/BW/VL on top of isaAVX2 (512-bit)
)

func (l isa) String() string {
	switch l {
	case isaAVX2:
		return "avx2"
	case isaAVX512:
		return "avx512"
	}
	return "generic"
}

// active is the implementation every dispatching kernel uses. It is chosen
// once from the CPU features; tests switch it to exercise every path.
var active = detectISA()

// ISA reports the implementation level in use ("generic", "avx2", "avx512").
func ISA() string { return active.String() }

// vectorWidth is the number of float32 lanes of one register at level l.
func vectorWidth(l isa) int {
	if l == isaAVX512 {
		return 16
	}
	return 8
}
