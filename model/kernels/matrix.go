package kernels

import "fmt"

// DType is the element type of a Matrix as stored on disk.
type DType uint8

const (
	F32  DType = iota // IEEE binary32, in Matrix.F32
	F16               // IEEE binary16 bits, in Matrix.U16
	BF16              // bfloat16 bits (top half of a binary32), in Matrix.U16
)

// String returns the safetensors spelling of the type.
func (t DType) String() string {
	switch t {
	case F32:
		return "F32"
	case F16:
		return "F16"
	case BF16:
		return "BF16"
	}
	return fmt.Sprintf("DType(%d)", uint8(t))
}

// Size is the number of bytes one element occupies.
func (t DType) Size() int {
	if t == F32 {
		return 4
	}
	return 2
}

// Matrix is a row-major [Rows][Cols] weight matrix kept in its on-disk
// element type. Exactly one of F32 (DType F32) or U16 (F16, BF16) holds
// Rows*Cols elements; the kernels never modify either.
type Matrix struct {
	Rows, Cols int
	DType      DType
	F32        []float32 // [Rows*Cols] when DType == F32
	U16        []uint16  // [Rows*Cols] raw bits when DType == F16 or BF16
}

// check panics unless m's storage matches its shape and type.
func (m Matrix) check() {
	if m.Rows < 0 || m.Cols < 0 {
		panic(fmt.Sprintf("kernels: matrix shape %dx%d is negative", m.Rows, m.Cols))
	}
	n := m.Rows * m.Cols
	switch m.DType {
	case F32:
		if len(m.F32) != n {
			panic(fmt.Sprintf("kernels: %dx%d F32 matrix has %d elements", m.Rows, m.Cols, len(m.F32)))
		}
	case F16, BF16:
		if len(m.U16) != n {
			panic(fmt.Sprintf("kernels: %dx%d %v matrix has %d elements", m.Rows, m.Cols, m.DType, len(m.U16)))
		}
	default:
		panic(fmt.Sprintf("kernels: unknown %v", m.DType))
	}
}

// Bytes is the storage size of the matrix elements.
func (m Matrix) Bytes() int { return m.Rows * m.Cols * m.DType.Size() }

// RowTo widens row r into dst (len(dst) == Cols). It is the embedding lookup.
func (m Matrix) RowTo(dst []float32, r int) {
	m.check()
	if len(dst) != m.Cols {
		panic(fmt.Sprintf("kernels: RowTo dst has %d elements, matrix has %d columns", len(dst), m.Cols))
	}
	if r < 0 || r >= m.Rows {
		panic(fmt.Sprintf("kernels: RowTo row %d out of range [0,%d)", r, m.Rows))
	}
	lo, hi := r*m.Cols, (r+1)*m.Cols
	switch m.DType {
	case F32:
		copy(dst, m.F32[lo:hi])
	case F16:
		F16ToF32(dst, m.U16[lo:hi])
	case BF16:
		BF16ToF32(dst, m.U16[lo:hi])
	}
}

// widenTo converts rows [r0,r1) of a 16-bit matrix into dst (len (r1-r0)*Cols).
func (m Matrix) widenTo(dst []float32, r0, r1 int) {
	src := m.U16[r0*m.Cols : r1*m.Cols]
	if m.DType == F16 {
		F16ToF32(dst, src)
	} else {
		BF16ToF32(dst, src)
	}
}

func checkLen(op, name string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("kernels: %s: len(%s) = %d, want %d", op, name, got, want))
	}
}
