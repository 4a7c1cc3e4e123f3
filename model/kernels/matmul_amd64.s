#include "textflag.h"

// Register-blocked micro-kernels of MatMul: a tile of 4 activation rows
// (x, the A operand) against a few packed float32 weight rows (W, the B
// operand, stored [N][K] so both operands are contiguous along K). Each
// accumulator holds one (x row, w row) pair's partial sums across the vector
// lanes; the lanes are reduced once at the end of K, so the loop is loads
// and FMAs only. k is a positive multiple of the vector width; the caller
// finishes any remainder of K and the edge tiles.

// func tile4x4AVX512(dst *float32, ldd int, x *float32, ldx int, w *float32, ldw int, k int)
//
// dst[i*ldd+j] = Σ_{c<k} x[i*ldx+c]·w[j*ldw+c] for i, j < 4 (strides in elements).
// Accumulator for (i, j) is Z(4j+i); inputs are Z16..Z23.
TEXT ·tile4x4AVX512(SB), NOSPLIT, $0-56
	MOVQ x+16(FP), SI
	MOVQ ldx+24(FP), R8
	SHLQ $2, R8
	LEAQ (SI)(R8*1), R9
	LEAQ (SI)(R8*2), R10
	LEAQ (R9)(R8*2), R11
	MOVQ w+32(FP), DI
	MOVQ ldw+40(FP), R8
	SHLQ $2, R8
	LEAQ (DI)(R8*1), R12
	LEAQ (DI)(R8*2), R13
	LEAQ (R12)(R8*2), BX
	MOVQ k+48(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	XORQ AX, AX

loop:
	VMOVUPS (SI)(AX*4), Z16
	VMOVUPS (R9)(AX*4), Z17
	VMOVUPS (R10)(AX*4), Z18
	VMOVUPS (R11)(AX*4), Z19
	VMOVUPS (DI)(AX*4), Z20
	VFMADD231PS Z20, Z16, Z0
	VFMADD231PS Z20, Z17, Z1
	VFMADD231PS Z20, Z18, Z2
	VFMADD231PS Z20, Z19, Z3
	VMOVUPS (R12)(AX*4), Z21
	VFMADD231PS Z21, Z16, Z4
	VFMADD231PS Z21, Z17, Z5
	VFMADD231PS Z21, Z18, Z6
	VFMADD231PS Z21, Z19, Z7
	VMOVUPS (R13)(AX*4), Z22
	VFMADD231PS Z22, Z16, Z8
	VFMADD231PS Z22, Z17, Z9
	VFMADD231PS Z22, Z18, Z10
	VFMADD231PS Z22, Z19, Z11
	VMOVUPS (BX)(AX*4), Z23
	VFMADD231PS Z23, Z16, Z12
	VFMADD231PS Z23, Z17, Z13
	VFMADD231PS Z23, Z18, Z14
	VFMADD231PS Z23, Z19, Z15
	ADDQ $16, AX
	CMPQ AX, CX
	JB   loop

	// Reduce the 16 accumulators to one register holding all 16 sums,
	// halving the width at each level with shuffles that keep two
	// accumulators per register.
	// Level 1: 512 -> 256 bits; Z(p) = [a(2p) | a(2p+1)] folded, p < 8.
	VSHUFF64X2 $0x44, Z1, Z0, Z16
	VSHUFF64X2 $0xEE, Z1, Z0, Z17
	VADDPS Z17, Z16, Z0
	VSHUFF64X2 $0x44, Z3, Z2, Z16
	VSHUFF64X2 $0xEE, Z3, Z2, Z17
	VADDPS Z17, Z16, Z1
	VSHUFF64X2 $0x44, Z5, Z4, Z16
	VSHUFF64X2 $0xEE, Z5, Z4, Z17
	VADDPS Z17, Z16, Z2
	VSHUFF64X2 $0x44, Z7, Z6, Z16
	VSHUFF64X2 $0xEE, Z7, Z6, Z17
	VADDPS Z17, Z16, Z3
	VSHUFF64X2 $0x44, Z9, Z8, Z16
	VSHUFF64X2 $0xEE, Z9, Z8, Z17
	VADDPS Z17, Z16, Z4
	VSHUFF64X2 $0x44, Z11, Z10, Z16
	VSHUFF64X2 $0xEE, Z11, Z10, Z17
	VADDPS Z17, Z16, Z5
	VSHUFF64X2 $0x44, Z13, Z12, Z16
	VSHUFF64X2 $0xEE, Z13, Z12, Z17
	VADDPS Z17, Z16, Z6
	VSHUFF64X2 $0x44, Z15, Z14, Z16
	VSHUFF64X2 $0xEE, Z15, Z14, Z17
	VADDPS Z17, Z16, Z7
	// Level 2: 256 -> 128 bits; 128-bit lane l of Z(q) sums a(4q+l), q < 4.
	VSHUFF64X2 $0x88, Z1, Z0, Z16
	VSHUFF64X2 $0xDD, Z1, Z0, Z17
	VADDPS Z17, Z16, Z0
	VSHUFF64X2 $0x88, Z3, Z2, Z16
	VSHUFF64X2 $0xDD, Z3, Z2, Z17
	VADDPS Z17, Z16, Z1
	VSHUFF64X2 $0x88, Z5, Z4, Z16
	VSHUFF64X2 $0xDD, Z5, Z4, Z17
	VADDPS Z17, Z16, Z2
	VSHUFF64X2 $0x88, Z7, Z6, Z16
	VSHUFF64X2 $0xDD, Z7, Z6, Z17
	VADDPS Z17, Z16, Z3
	// Level 3: 4 -> 2 floats per accumulator, within each 128-bit lane.
	VSHUFPS $0x88, Z1, Z0, Z16
	VSHUFPS $0xDD, Z1, Z0, Z17
	VADDPS Z17, Z16, Z0
	VSHUFPS $0x88, Z3, Z2, Z16
	VSHUFPS $0xDD, Z3, Z2, Z17
	VADDPS Z17, Z16, Z1
	// Level 4: lane l of Z0 = [sum a(l), a(4+l), a(8+l), a(12+l)] = row l, columns 0..3.
	VSHUFPS $0x88, Z1, Z0, Z16
	VSHUFPS $0xDD, Z1, Z0, Z17
	VADDPS  Z17, Z16, Z0

	MOVQ dst+0(FP), DX
	MOVQ ldd+8(FP), R8
	SHLQ $2, R8
	LEAQ (DX)(R8*2), R9
	VEXTRACTF32X4 $0, Z0, (DX)
	VEXTRACTF32X4 $1, Z0, (DX)(R8*1)
	VEXTRACTF32X4 $2, Z0, (R9)
	VEXTRACTF32X4 $3, Z0, (R9)(R8*1)
	VZEROUPPER
	RET

// func tile4x3AVX2(dst *float32, ldd int, x *float32, ldx int, w *float32, ldw int, k int)
//
// As tile4x4AVX512 for 4 x rows and 3 w rows with 256-bit vectors: twelve
// accumulators, Y(3i+j) for (i, j), plus three w vectors and one x vector
// fill the sixteen YMM registers.
TEXT ·tile4x3AVX2(SB), NOSPLIT, $0-56
	MOVQ x+16(FP), SI
	MOVQ ldx+24(FP), R8
	SHLQ $2, R8
	LEAQ (SI)(R8*1), R9
	LEAQ (SI)(R8*2), R10
	LEAQ (R9)(R8*2), R11
	MOVQ w+32(FP), DI
	MOVQ ldw+40(FP), R8
	SHLQ $2, R8
	LEAQ (DI)(R8*1), R12
	LEAQ (DI)(R8*2), R13
	MOVQ k+48(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	XORQ AX, AX

loop:
	VMOVUPS (DI)(AX*4), Y12
	VMOVUPS (R12)(AX*4), Y13
	VMOVUPS (R13)(AX*4), Y14
	VMOVUPS (SI)(AX*4), Y15
	VFMADD231PS Y12, Y15, Y0
	VFMADD231PS Y13, Y15, Y1
	VFMADD231PS Y14, Y15, Y2
	VMOVUPS (R9)(AX*4), Y15
	VFMADD231PS Y12, Y15, Y3
	VFMADD231PS Y13, Y15, Y4
	VFMADD231PS Y14, Y15, Y5
	VMOVUPS (R10)(AX*4), Y15
	VFMADD231PS Y12, Y15, Y6
	VFMADD231PS Y13, Y15, Y7
	VFMADD231PS Y14, Y15, Y8
	VMOVUPS (R11)(AX*4), Y15
	VFMADD231PS Y12, Y15, Y9
	VFMADD231PS Y13, Y15, Y10
	VFMADD231PS Y14, Y15, Y11
	ADDQ $8, AX
	CMPQ AX, CX
	JB   loop

	// Per row i: [Σa(i,0) Σa(i,1) Σa(i,2) ·] -> dst row i, three floats.
	MOVQ dst+0(FP), DX
	MOVQ ldd+8(FP), R8
	SHLQ $2, R8
	VHADDPS      Y1, Y0, Y12
	VHADDPS      Y2, Y2, Y13
	VHADDPS      Y13, Y12, Y12
	VEXTRACTF128 $1, Y12, X13
	VADDPS       X13, X12, X12
	VMOVSD       X12, (DX)
	VEXTRACTPS   $2, X12, 8(DX)
	ADDQ R8, DX
	VHADDPS      Y4, Y3, Y12
	VHADDPS      Y5, Y5, Y13
	VHADDPS      Y13, Y12, Y12
	VEXTRACTF128 $1, Y12, X13
	VADDPS       X13, X12, X12
	VMOVSD       X12, (DX)
	VEXTRACTPS   $2, X12, 8(DX)
	ADDQ R8, DX
	VHADDPS      Y7, Y6, Y12
	VHADDPS      Y8, Y8, Y13
	VHADDPS      Y13, Y12, Y12
	VEXTRACTF128 $1, Y12, X13
	VADDPS       X13, X12, X12
	VMOVSD       X12, (DX)
	VEXTRACTPS   $2, X12, 8(DX)
	ADDQ R8, DX
	VHADDPS      Y10, Y9, Y12
	VHADDPS      Y11, Y11, Y13
	VHADDPS      Y13, Y12, Y12
	VEXTRACTF128 $1, Y12, X13
	VADDPS       X13, X12, X12
	VMOVSD       X12, (DX)
	VEXTRACTPS   $2, X12, 8(DX)
	VZEROUPPER
	RET
