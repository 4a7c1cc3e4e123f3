#include "textflag.h"

// Matrix-vector kernels.
//
// func matVec<T><ISA>(dst *float32, w unsafe.Pointer, x *float32, rows, stride, n int)
//
// For r < rows: dst[r] = Σ_{c<n} W[r][c]·x[c], where row r starts stride
// elements after row r-1 and n is a positive multiple of the vector width
// (16 lanes for AVX-512, 8 for AVX2); the caller adds columns n..stride-1.
//
// Rows are walked one after another so that the weights are read as one
// sequential stream: from DRAM (the decode case: the model's weights do not
// fit in cache) this ran about twice as fast as interleaving four rows to
// reuse x, which the hardware prefetcher did not keep fed. Each step of the
// inner loop consumes one 64-byte line of 16-bit weights (two for f32) into
// independent accumulators. 16-bit weights are widened in registers: bf16 by
// zero-extension and a 16-bit left shift, f16 by VCVTPH2PS.

// Widen-and-accumulate steps: acc += widen(mem) * xv.
#define MAC_BF16(mem, xv, tmp, acc) \
	VPMOVZXWD   mem, tmp; \
	VPSLLD      $16, tmp, tmp; \
	VFMADD231PS tmp, xv, acc

#define MAC_F16(mem, xv, tmp, acc) \
	VCVTPH2PS   mem, tmp; \
	VFMADD231PS tmp, xv, acc

#define MAC_F32(mem, xv, tmp, acc) \
	VFMADD231PS mem, xv, acc

// HSUM_Y0 leaves the sum of the eight lanes of Y0 in X0[0].
#define HSUM_Y0 \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS       X1, X0, X0; \
	VHADDPS      X0, X0, X0; \
	VHADDPS      X0, X0, X0

// HSUM_Z0 leaves the sum of the sixteen lanes of Z0 in X0[0].
#define HSUM_Z0 \
	VEXTRACTF64X4 $1, Z0, Y1; \
	VADDPS        Y1, Y0, Y0; \
	HSUM_Y0

// func matVecBF16AVX512(dst *float32, w unsafe.Pointer, x *float32, rows, stride, n int)
TEXT ·matVecBF16AVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ stride+32(FP), R9
	SHLQ $1, R9
	MOVQ n+40(FP), CX
	MOVQ CX, BX
	ANDQ $-32, BX

row:
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	XORQ AX, AX

step:
	CMPQ AX, BX
	JAE  tail
	VMOVUPS (DX)(AX*4), Z4
	VMOVUPS 64(DX)(AX*4), Z5
	MAC_BF16((SI)(AX*2), Z4, Z8, Z0)
	MAC_BF16(32(SI)(AX*2), Z5, Z9, Z1)
	ADDQ $32, AX
	JMP  step

tail:
	CMPQ AX, CX
	JAE  sum
	VMOVUPS (DX)(AX*4), Z4
	MAC_BF16((SI)(AX*2), Z4, Z8, Z0)
	ADDQ $16, AX
	JMP  tail

sum:
	VADDPS Z1, Z0, Z0
	HSUM_Z0
	VMOVSS X0, (DI)
	ADDQ   $4, DI
	ADDQ   R9, SI
	DECQ   R8
	JNZ    row
	VZEROUPPER
	RET

// func matVecBF16PairsAVX512(dst *float32, w unsafe.Pointer, xs *float32, rows, stride, n int)
//
// matVecBF16AVX512 with fewer instructions per weight: n is a multiple of 32
// and xs is x split by splitPairs, each 32-column block as its 16 even then
// its 16 odd elements. A 32-bit lane of 32 loaded bf16 weights holds the
// pair (w[2i], w[2i+1]), the even one in its low half, so a left shift by 16
// widens the even weights and masking off the low half widens the odd ones:
// one load, a shift, an AND and two FMAs (x read from memory) per 32
// weights, against two widening loads, two shifts and two FMAs.
TEXT ·matVecBF16PairsAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ xs+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ stride+32(FP), R9
	SHLQ $1, R9
	MOVQ n+40(FP), CX
	MOVL $0xffff0000, AX
	VPBROADCASTD AX, Z31
	MOVQ CX, BX
	ANDQ $-64, BX

prow:
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	XORQ AX, AX

pstep:
	CMPQ AX, BX
	JAE  ptail
	VMOVDQU32 (SI)(AX*2), Z4
	VMOVDQU32 64(SI)(AX*2), Z5
	VPSLLD $16, Z4, Z6
	VPANDD Z31, Z4, Z7
	VPSLLD $16, Z5, Z8
	VPANDD Z31, Z5, Z9
	VFMADD231PS (DX)(AX*4), Z6, Z0
	VFMADD231PS 64(DX)(AX*4), Z7, Z1
	VFMADD231PS 128(DX)(AX*4), Z8, Z2
	VFMADD231PS 192(DX)(AX*4), Z9, Z3
	ADDQ $64, AX
	JMP  pstep

ptail:
	CMPQ AX, CX
	JAE  psum
	VMOVDQU32 (SI)(AX*2), Z4
	VPSLLD $16, Z4, Z6
	VPANDD Z31, Z4, Z7
	VFMADD231PS (DX)(AX*4), Z6, Z0
	VFMADD231PS 64(DX)(AX*4), Z7, Z1
	ADDQ $32, AX
	JMP  ptail

psum:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	HSUM_Z0
	VMOVSS X0, (DI)
	ADDQ   $4, DI
	ADDQ   R9, SI
	DECQ   R8
	JNZ    prow
	VZEROUPPER
	RET

// func matVecF16AVX512(dst *float32, w unsafe.Pointer, x *float32, rows, stride, n int)
TEXT ·matVecF16AVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ stride+32(FP), R9
	SHLQ $1, R9
	MOVQ n+40(FP), CX
	MOVQ CX, BX
	ANDQ $-32, BX

row:
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	XORQ AX, AX

step:
	CMPQ AX, BX
	JAE  tail
	VMOVUPS (DX)(AX*4), Z4
	VMOVUPS 64(DX)(AX*4), Z5
	MAC_F16((SI)(AX*2), Z4, Z8, Z0)
	MAC_F16(32(SI)(AX*2), Z5, Z9, Z1)
	ADDQ $32, AX
	JMP  step

tail:
	CMPQ AX, CX
	JAE  sum
	VMOVUPS (DX)(AX*4), Z4
	MAC_F16((SI)(AX*2), Z4, Z8, Z0)
	ADDQ $16, AX
	JMP  tail

sum:
	VADDPS Z1, Z0, Z0
	HSUM_Z0
	VMOVSS X0, (DI)
	ADDQ   $4, DI
	ADDQ   R9, SI
	DECQ   R8
	JNZ    row
	VZEROUPPER
	RET

// func matVecF32AVX512(dst *float32, w unsafe.Pointer, x *float32, rows, stride, n int)
TEXT ·matVecF32AVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ stride+32(FP), R9
	SHLQ $2, R9
	MOVQ n+40(FP), CX
	MOVQ CX, BX
	ANDQ $-32, BX

row:
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	XORQ AX, AX

step:
	CMPQ AX, BX
	JAE  tail
	VMOVUPS (DX)(AX*4), Z4
	VMOVUPS 64(DX)(AX*4), Z5
	MAC_F32((SI)(AX*4), Z4, Z8, Z0)
	MAC_F32(64(SI)(AX*4), Z5, Z9, Z1)
	ADDQ $32, AX
	JMP  step

tail:
	CMPQ AX, CX
	JAE  sum
	VMOVUPS (DX)(AX*4), Z4
	MAC_F32((SI)(AX*4), Z4, Z8, Z0)
	ADDQ $16, AX
	JMP  tail

sum:
	VADDPS Z1, Z0, Z0
	HSUM_Z0
	VMOVSS X0, (DI)
	ADDQ   $4, DI
	ADDQ   R9, SI
	DECQ   R8
	JNZ    row
	VZEROUPPER
	RET

// func matVecBF16AVX2(dst *float32, w unsafe.Pointer, x *float32, rows, stride, n int)
TEXT ·matVecBF16AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ stride+32(FP), R9
	SHLQ $1, R9
	MOVQ n+40(FP), CX
	MOVQ CX, BX
	ANDQ $-32, BX

row:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX

step:
	CMPQ AX, BX
	JAE  tail
	VMOVUPS (DX)(AX*4), Y4
	VMOVUPS 32(DX)(AX*4), Y5
	VMOVUPS 64(DX)(AX*4), Y6
	VMOVUPS 96(DX)(AX*4), Y7
	MAC_BF16((SI)(AX*2), Y4, Y8, Y0)
	MAC_BF16(16(SI)(AX*2), Y5, Y9, Y1)
	MAC_BF16(32(SI)(AX*2), Y6, Y10, Y2)
	MAC_BF16(48(SI)(AX*2), Y7, Y11, Y3)
	ADDQ $32, AX
	JMP  step

tail:
	CMPQ AX, CX
	JAE  sum
	VMOVUPS (DX)(AX*4), Y4
	MAC_BF16((SI)(AX*2), Y4, Y8, Y0)
	ADDQ $8, AX
	JMP  tail

sum:
	VADDPS Y1, Y0, Y0
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y0, Y0
	HSUM_Y0
	VMOVSS X0, (DI)
	ADDQ   $4, DI
	ADDQ   R9, SI
	DECQ   R8
	JNZ    row
	VZEROUPPER
	RET

// func matVecF16AVX2(dst *float32, w unsafe.Pointer, x *float32, rows, stride, n int)
TEXT ·matVecF16AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ stride+32(FP), R9
	SHLQ $1, R9
	MOVQ n+40(FP), CX
	MOVQ CX, BX
	ANDQ $-32, BX

row:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX

step:
	CMPQ AX, BX
	JAE  tail
	VMOVUPS (DX)(AX*4), Y4
	VMOVUPS 32(DX)(AX*4), Y5
	VMOVUPS 64(DX)(AX*4), Y6
	VMOVUPS 96(DX)(AX*4), Y7
	MAC_F16((SI)(AX*2), Y4, Y8, Y0)
	MAC_F16(16(SI)(AX*2), Y5, Y9, Y1)
	MAC_F16(32(SI)(AX*2), Y6, Y10, Y2)
	MAC_F16(48(SI)(AX*2), Y7, Y11, Y3)
	ADDQ $32, AX
	JMP  step

tail:
	CMPQ AX, CX
	JAE  sum
	VMOVUPS (DX)(AX*4), Y4
	MAC_F16((SI)(AX*2), Y4, Y8, Y0)
	ADDQ $8, AX
	JMP  tail

sum:
	VADDPS Y1, Y0, Y0
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y0, Y0
	HSUM_Y0
	VMOVSS X0, (DI)
	ADDQ   $4, DI
	ADDQ   R9, SI
	DECQ   R8
	JNZ    row
	VZEROUPPER
	RET

// func matVecF32AVX2(dst *float32, w unsafe.Pointer, x *float32, rows, stride, n int)
TEXT ·matVecF32AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ stride+32(FP), R9
	SHLQ $2, R9
	MOVQ n+40(FP), CX
	MOVQ CX, BX
	ANDQ $-32, BX

row:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX

step:
	CMPQ AX, BX
	JAE  tail
	VMOVUPS (DX)(AX*4), Y4
	VMOVUPS 32(DX)(AX*4), Y5
	VMOVUPS 64(DX)(AX*4), Y6
	VMOVUPS 96(DX)(AX*4), Y7
	MAC_F32((SI)(AX*4), Y4, Y8, Y0)
	MAC_F32(32(SI)(AX*4), Y5, Y9, Y1)
	MAC_F32(64(SI)(AX*4), Y6, Y10, Y2)
	MAC_F32(96(SI)(AX*4), Y7, Y11, Y3)
	ADDQ $32, AX
	JMP  step

tail:
	CMPQ AX, CX
	JAE  sum
	VMOVUPS (DX)(AX*4), Y4
	MAC_F32((SI)(AX*4), Y4, Y8, Y0)
	ADDQ $8, AX
	JMP  tail

sum:
	VADDPS Y1, Y0, Y0
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y0, Y0
	HSUM_Y0
	VMOVSS X0, (DI)
	ADDQ   $4, DI
	ADDQ   R9, SI
	DECQ   R8
	JNZ    row
	VZEROUPPER
	RET
