package weights

import (
	"fmt"
	"math"
)

// GGMLType is a ggml tensor element type, numbered as in GGUF files.
type GGMLType uint32

// ggml types. Quantized types store blocks of BlockSize elements in
// BlockBytes bytes.
const (
	GGMLF32     GGMLType = 0
	GGMLF16     GGMLType = 1
	GGMLQ4_0    GGMLType = 2
	GGMLQ4_1    GGMLType = 3
	GGMLQ5_0    GGMLType = 6
	GGMLQ5_1    GGMLType = 7
	GGMLQ8_0    GGMLType = 8
	GGMLQ2_K    GGMLType = 10
	GGMLQ3_K    GGMLType = 11
	GGMLQ4_K    GGMLType = 12
	GGMLQ5_K    GGMLType = 13
	GGMLQ6_K    GGMLType = 14
	GGMLQ8_K    GGMLType = 15
	GGMLIQ2_XXS GGMLType = 16
	GGMLIQ2_XS  GGMLType = 17
	GGMLIQ3_XXS GGMLType = 18
	GGMLIQ1_S   GGMLType = 19
	GGMLIQ4_NL  GGMLType = 20
	GGMLIQ3_S   GGMLType = 21
	GGMLIQ2_S   GGMLType = 22
	GGMLIQ4_XS  GGMLType = 23
	GGMLI8      GGMLType = 24
	GGMLI16     GGMLType = 25
	GGMLI32     GGMLType = 26
	GGMLI64     GGMLType = 27
	GGMLF64     GGMLType = 28
	GGMLIQ1_M   GGMLType = 29
	GGMLBF16    GGMLType = 30
	GGMLTQ1_0   GGMLType = 34
	GGMLTQ2_0   GGMLType = 35
	GGMLMXFP4   GGMLType = 39
)

// qk is the super-block size of the K-quants.
const qk = 256

type ggmlTypeInfo struct {
	name       string
	blockSize  int // elements per block
	blockBytes int // bytes per block
}

// ggmlTypes lists every type whose storage size is known, so a GGUF file
// using it parses even when Dequantize does not support it.
var ggmlTypes = map[GGMLType]ggmlTypeInfo{
	GGMLF32:     {"F32", 1, 4},
	GGMLF16:     {"F16", 1, 2},
	GGMLQ4_0:    {"Q4_0", 32, 18},
	GGMLQ4_1:    {"Q4_1", 32, 20},
	GGMLQ5_0:    {"Q5_0", 32, 22},
	GGMLQ5_1:    {"Q5_1", 32, 24},
	GGMLQ8_0:    {"Q8_0", 32, 34},
	GGMLQ2_K:    {"Q2_K", qk, 84},
	GGMLQ3_K:    {"Q3_K", qk, 110},
	GGMLQ4_K:    {"Q4_K", qk, 144},
	GGMLQ5_K:    {"Q5_K", qk, 176},
	GGMLQ6_K:    {"Q6_K", qk, 210},
	GGMLQ8_K:    {"Q8_K", qk, 292},
	GGMLIQ2_XXS: {"IQ2_XXS", qk, 66},
	GGMLIQ2_XS:  {"IQ2_XS", qk, 74},
	GGMLIQ3_XXS: {"IQ3_XXS", qk, 98},
	GGMLIQ1_S:   {"IQ1_S", qk, 50},
	GGMLIQ4_NL:  {"IQ4_NL", 32, 18},
	GGMLIQ3_S:   {"IQ3_S", qk, 110},
	GGMLIQ2_S:   {"IQ2_S", qk, 82},
	GGMLIQ4_XS:  {"IQ4_XS", qk, 136},
	GGMLI8:      {"I8", 1, 1},
	GGMLI16:     {"I16", 1, 2},
	GGMLI32:     {"I32", 1, 4},
	GGMLI64:     {"I64", 1, 8},
	GGMLF64:     {"F64", 1, 8},
	GGMLIQ1_M:   {"IQ1_M", qk, 56},
	GGMLBF16:    {"BF16", 1, 2},
	GGMLTQ1_0:   {"TQ1_0", qk, 54},
	GGMLTQ2_0:   {"TQ2_0", qk, 66},
	GGMLMXFP4:   {"MXFP4", 32, 17},
}

// String returns the ggml name, e.g. "Q4_K".
func (t GGMLType) String() string {
	if info, ok := ggmlTypes[t]; ok {
		return info.name
	}
	return fmt.Sprintf("GGMLType(%d)", uint32(t))
}

// BlockSize returns the number of elements per block (1 for plain types),
// or 0 for an unknown type.
func (t GGMLType) BlockSize() int { return ggmlTypes[t].blockSize }

// BlockBytes returns the bytes per block, or 0 for an unknown type.
func (t GGMLType) BlockBytes() int { return ggmlTypes[t].blockBytes }

// RowBytes returns the storage size of n elements, which must be a multiple
// of the block size.
func (t GGMLType) RowBytes(n int) (int, error) {
	info, ok := ggmlTypes[t]
	switch {
	case !ok:
		return 0, fmt.Errorf("unknown ggml type %d", uint32(t))
	case n < 0 || n%info.blockSize != 0:
		return 0, fmt.Errorf("%d elements of %s: not a multiple of the %d-element block", n, info.name, info.blockSize)
	case n/info.blockSize > math.MaxInt/info.blockBytes:
		return 0, fmt.Errorf("%d elements of %s: size overflows", n, info.name)
	}
	return n / info.blockSize * info.blockBytes, nil
}
