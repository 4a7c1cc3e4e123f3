package weights

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/x448/float16"
)

// DType is a safetensors element type, spelled as in the file header.
type DType string

// The safetensors element types this package reads and writes.
const (
	F64    DType = "F64"
	F32    DType = "F32"
	F16    DType = "F16"
	BF16   DType = "BF16"
	F8E5M2 DType = "F8_E5M2"
	F8E4M3 DType = "F8_E4M3"
	I64    DType = "I64"
	I32    DType = "I32"
	I16    DType = "I16"
	I8     DType = "I8"
	U64    DType = "U64"
	U32    DType = "U32"
	U16    DType = "U16"
	U8     DType = "U8"
	Bool   DType = "BOOL"
)

var dtypeSizes = map[DType]int{
	F64: 8, F32: 4, F16: 2, BF16: 2, F8E5M2: 1, F8E4M3: 1,
	I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, Bool: 1,
}

// Size returns the size of one element in bytes, or 0 for an unknown dtype.
func (d DType) Size() int { return dtypeSizes[d] }

// Tensor is one named tensor. Data holds the raw little-endian elements in
// row-major order (the last dimension varies fastest); for a file opened with
// OpenSafetensors or OpenCheckpoint it is a read-only view into the mapping.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// NumElements returns the product of Shape (1 for a scalar).
func (t Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// hostLittleEndian reports whether in-memory integers are little-endian, the
// condition for reinterpreting file bytes as []float32 or []uint16.
var hostLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// Float32s returns the elements of an F32 tensor: a view of Data when it is
// 4-byte aligned, a copy otherwise.
func (t Tensor) Float32s() ([]float32, error) {
	if t.DType != F32 {
		return nil, fmt.Errorf("weights: tensor %q: Float32s needs dtype F32, have %s", t.Name, t.DType)
	}
	n := len(t.Data) / 4
	if n == 0 {
		return []float32{}, nil
	}
	if hostLittleEndian && uintptr(unsafe.Pointer(&t.Data[0]))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&t.Data[0])), n), nil
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}

// Uint16s returns the raw 16-bit elements of a 2-byte tensor (F16 or BF16
// bit patterns, I16, U16): a view of Data when it is 2-byte aligned, a copy
// otherwise.
func (t Tensor) Uint16s() ([]uint16, error) {
	if t.DType.Size() != 2 {
		return nil, fmt.Errorf("weights: tensor %q: Uint16s needs a 2-byte dtype, have %s", t.Name, t.DType)
	}
	n := len(t.Data) / 2
	if n == 0 {
		return []uint16{}, nil
	}
	if hostLittleEndian && uintptr(unsafe.Pointer(&t.Data[0]))%2 == 0 {
		return unsafe.Slice((*uint16)(unsafe.Pointer(&t.Data[0])), n), nil
	}
	out := make([]uint16, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(t.Data[2*i:])
	}
	return out, nil
}

// ToFloat32 converts an F32, F16 or BF16 tensor into dst, which must hold
// exactly NumElements values.
func (t Tensor) ToFloat32(dst []float32) error {
	if t.DType != F32 && t.DType != F16 && t.DType != BF16 {
		return fmt.Errorf("weights: tensor %q: ToFloat32 supports F32, F16, BF16, have %s", t.Name, t.DType)
	}
	if n := len(t.Data) / t.DType.Size(); len(dst) != n {
		return fmt.Errorf("weights: tensor %q: ToFloat32 dst has %d elements, tensor has %d", t.Name, len(dst), n)
	}
	switch t.DType {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = float16.Frombits(binary.LittleEndian.Uint16(t.Data[2*i:])).Float32()
		}
	case BF16:
		for i := range dst {
			dst[i] = bf16ToFloat32(binary.LittleEndian.Uint16(t.Data[2*i:]))
		}
	}
	return nil
}

// bf16ToFloat32 widens a bfloat16 bit pattern: its bits are the top half of
// a float32.
func bf16ToFloat32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// f16ToFloat32 converts an IEEE half-precision bit pattern.
func f16ToFloat32(b uint16) float32 { return float16.Frombits(b).Float32() }
