#include "textflag.h"

// Matrix-vector kernels: four weight rows against one x per call.
//
// func matVec4<T><ISA>(dst *float32, w unsafe.Pointer, stride int, x *float32, n int)
//
// Rows start at w, w+stride, w+2·stride, w+3·stride (stride in elements);
// dst[0..3] receives the four dot products over the first n columns; n is a
// positive multiple of the vector width (16 for AVX-512, 8 for AVX2). Each
// row keeps two accumulators (even and odd vector of the 2-vector step), so
// eight independent FMA chains are in flight. 16-bit weights are widened in
// registers: bf16 by zero-extension and a 16-bit left shift, f16 by
// VCVTPH2PS.
//
// The hardware prefetcher does not keep four interleaved row streams fed
// from DRAM, so each step also prefetches the same columns of the rows
// 8 rows further down (the group after next), which is where the
// caller's next calls will read.

// Widen-and-accumulate steps: acc += widen(mem) * xv.
#define MAC_BF16(mem, xv, tmp, acc) \
	VPMOVZXWD mem, tmp; \
	VPSLLD    $16, tmp, tmp; \
	VFMADD231PS tmp, xv, acc

#define MAC_F16(mem, xv, tmp, acc) \
	VCVTPH2PS mem, tmp; \
	VFMADD231PS tmp, xv, acc

#define MAC_F32(mem, xv, tmp, acc) \
	VFMADD231PS mem, xv, acc

// REDUCE4_256 sums the eight lanes of each of Y0..Y3 into X0 = [s0 s1 s2 s3].
#define REDUCE4_256 \
	VEXTRACTF128 $1, Y0, X8; \
	VADDPS       X8, X0, X0; \
	VEXTRACTF128 $1, Y1, X9; \
	VADDPS       X9, X1, X1; \
	VEXTRACTF128 $1, Y2, X10; \
	VADDPS       X10, X2, X2; \
	VEXTRACTF128 $1, Y3, X11; \
	VADDPS       X11, X3, X3; \
	VHADDPS      X1, X0, X0; \
	VHADDPS      X3, X2, X2; \
	VHADDPS      X2, X0, X0

// REDUCE4_512 does the same for Z0..Z3, first folding 512 into 256 bits.
#define REDUCE4_512 \
	VEXTRACTF64X4 $1, Z0, Y8; \
	VADDPS        Y8, Y0, Y0; \
	VEXTRACTF64X4 $1, Z1, Y9; \
	VADDPS        Y9, Y1, Y1; \
	VEXTRACTF64X4 $1, Z2, Y10; \
	VADDPS        Y10, Y2, Y2; \
	VEXTRACTF64X4 $1, Z3, Y11; \
	VADDPS        Y11, Y3, Y3; \
	REDUCE4_256

// func matVec4BF16AVX512(dst *float32, w unsafe.Pointer, stride int, x *float32, n int)
TEXT ·matVec4BF16AVX512(SB), NOSPLIT, $0-40
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ x+24(FP), DX
	MOVQ n+32(FP), CX
	SHLQ $1, R8
	LEAQ (SI)(R8*1), R9
	LEAQ (SI)(R8*2), R10
	LEAQ (R9)(R8*2), R11
	IMUL3Q $8, R8, R12
	ADDQ SI, R12
	LEAQ (R12)(R8*1), R13
	LEAQ (R13)(R8*2), DI
	LEAQ (R12)(R8*2), R8
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX

loop2:
	CMPQ AX, BX
	JAE  tail1
	PREFETCHT0 (R12)(AX*2)
	PREFETCHT0 (R13)(AX*2)
	PREFETCHT0 (R8)(AX*2)
	PREFETCHT0 (DI)(AX*2)
	VMOVUPS (DX)(AX*4), Z8
	VMOVUPS 64(DX)(AX*4), Z9
	MAC_BF16((SI)(AX*2), Z8, Z10, Z0)
	MAC_BF16(32(SI)(AX*2), Z9, Z11, Z4)
	MAC_BF16((R9)(AX*2), Z8, Z12, Z1)
	MAC_BF16(32(R9)(AX*2), Z9, Z13, Z5)
	MAC_BF16((R10)(AX*2), Z8, Z14, Z2)
	MAC_BF16(32(R10)(AX*2), Z9, Z15, Z6)
	MAC_BF16((R11)(AX*2), Z8, Z16, Z3)
	MAC_BF16(32(R11)(AX*2), Z9, Z17, Z7)
	ADDQ $32, AX
	JMP  loop2

tail1:
	CMPQ AX, CX
	JAE  reduce
	VMOVUPS (DX)(AX*4), Z8
	MAC_BF16((SI)(AX*2), Z8, Z10, Z0)
	MAC_BF16((R9)(AX*2), Z8, Z12, Z1)
	MAC_BF16((R10)(AX*2), Z8, Z14, Z2)
	MAC_BF16((R11)(AX*2), Z8, Z16, Z3)

reduce:
	VADDPS Z4, Z0, Z0
	VADDPS Z5, Z1, Z1
	VADDPS Z6, Z2, Z2
	VADDPS Z7, Z3, Z3
	REDUCE4_512
	MOVQ dst+0(FP), DI
	VMOVUPS X0, (DI)
	VZEROUPPER
	RET

// func matVec4F16AVX512(dst *float32, w unsafe.Pointer, stride int, x *float32, n int)
TEXT ·matVec4F16AVX512(SB), NOSPLIT, $0-40
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ x+24(FP), DX
	MOVQ n+32(FP), CX
	SHLQ $1, R8
	LEAQ (SI)(R8*1), R9
	LEAQ (SI)(R8*2), R10
	LEAQ (R9)(R8*2), R11
	IMUL3Q $8, R8, R12
	ADDQ SI, R12
	LEAQ (R12)(R8*1), R13
	LEAQ (R13)(R8*2), DI
	LEAQ (R12)(R8*2), R8
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX

loop2:
	CMPQ AX, BX
	JAE  tail1
	PREFETCHT0 (R12)(AX*2)
	PREFETCHT0 (R13)(AX*2)
	PREFETCHT0 (R8)(AX*2)
	PREFETCHT0 (DI)(AX*2)
	VMOVUPS (DX)(AX*4), Z8
	VMOVUPS 64(DX)(AX*4), Z9
	MAC_F16((SI)(AX*2), Z8, Z10, Z0)
	MAC_F16(32(SI)(AX*2), Z9, Z11, Z4)
	MAC_F16((R9)(AX*2), Z8, Z12, Z1)
	MAC_F16(32(R9)(AX*2), Z9, Z13, Z5)
	MAC_F16((R10)(AX*2), Z8, Z14, Z2)
	MAC_F16(32(R10)(AX*2), Z9, Z15, Z6)
	MAC_F16((R11)(AX*2), Z8, Z16, Z3)
	MAC_F16(32(R11)(AX*2), Z9, Z17, Z7)
	ADDQ $32, AX
	JMP  loop2

tail1:
	CMPQ AX, CX
	JAE  reduce
	VMOVUPS (DX)(AX*4), Z8
	MAC_F16((SI)(AX*2), Z8, Z10, Z0)
	MAC_F16((R9)(AX*2), Z8, Z12, Z1)
	MAC_F16((R10)(AX*2), Z8, Z14, Z2)
	MAC_F16((R11)(AX*2), Z8, Z16, Z3)

reduce:
	VADDPS Z4, Z0, Z0
	VADDPS Z5, Z1, Z1
	VADDPS Z6, Z2, Z2
	VADDPS Z7, Z3, Z3
	REDUCE4_512
	MOVQ dst+0(FP), DI
	VMOVUPS X0, (DI)
	VZEROUPPER
	RET

// func matVec4F32AVX512(dst *float32, w unsafe.Pointer, stride int, x *float32, n int)
TEXT ·matVec4F32AVX512(SB), NOSPLIT, $0-40
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ x+24(FP), DX
	MOVQ n+32(FP), CX
	SHLQ $2, R8
	LEAQ (SI)(R8*1), R9
	LEAQ (SI)(R8*2), R10
	LEAQ (R9)(R8*2), R11
	IMUL3Q $8, R8, R12
	ADDQ SI, R12
	LEAQ (R12)(R8*1), R13
	LEAQ (R13)(R8*2), DI
	LEAQ (R12)(R8*2), R8
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX

loop2:
	CMPQ AX, BX
	JAE  tail1
	PREFETCHT0 (R12)(AX*4)
	PREFETCHT0 64(R12)(AX*4)
	PREFETCHT0 (R13)(AX*4)
	PREFETCHT0 64(R13)(AX*4)
	PREFETCHT0 (R8)(AX*4)
	PREFETCHT0 64(R8)(AX*4)
	PREFETCHT0 (DI)(AX*4)
	PREFETCHT0 64(DI)(AX*4)
	VMOVUPS (DX)(AX*4), Z8
	VMOVUPS 64(DX)(AX*4), Z9
	MAC_F32((SI)(AX*4), Z8, Z10, Z0)
	MAC_F32(64(SI)(AX*4), Z9, Z11, Z4)
	MAC_F32((R9)(AX*4), Z8, Z12, Z1)
	MAC_F32(64(R9)(AX*4), Z9, Z13, Z5)
	MAC_F32((R10)(AX*4), Z8, Z14, Z2)
	MAC_F32(64(R10)(AX*4), Z9, Z15, Z6)
	MAC_F32((R11)(AX*4), Z8, Z16, Z3)
	MAC_F32(64(R11)(AX*4), Z9, Z17, Z7)
	ADDQ $32, AX
	JMP  loop2

tail1:
	CMPQ AX, CX
	JAE  reduce
	VMOVUPS (DX)(AX*4), Z8
	MAC_F32((SI)(AX*4), Z8, Z10, Z0)
	MAC_F32((R9)(AX*4), Z8, Z12, Z1)
	MAC_F32((R10)(AX*4), Z8, Z14, Z2)
	MAC_F32((R11)(AX*4), Z8, Z16, Z3)

reduce:
	VADDPS Z4, Z0, Z0
	VADDPS Z5, Z1, Z1
	VADDPS Z6, Z2, Z2
	VADDPS Z7, Z3, Z3
	REDUCE4_512
	MOVQ dst+0(FP), DI
	VMOVUPS X0, (DI)
	VZEROUPPER
	RET

// func matVec4BF16AVX2(dst *float32, w unsafe.Pointer, stride int, x *float32, n int)
TEXT ·matVec4BF16AVX2(SB), NOSPLIT, $0-40
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ x+24(FP), DX
	MOVQ n+32(FP), CX
	SHLQ $1, R8
	LEAQ (SI)(R8*1), R9
	LEAQ (SI)(R8*2), R10
	LEAQ (R9)(R8*2), R11
	IMUL3Q $8, R8, R12
	ADDQ SI, R12
	LEAQ (R12)(R8*1), R13
	LEAQ (R13)(R8*2), DI
	LEAQ (R12)(R8*2), R8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-16, BX

loop2:
	CMPQ AX, BX
	JAE  tail1
	PREFETCHT0 (R12)(AX*2)
	PREFETCHT0 (R13)(AX*2)
	PREFETCHT0 (R8)(AX*2)
	PREFETCHT0 (DI)(AX*2)
	VMOVUPS (DX)(AX*4), Y8
	VMOVUPS 32(DX)(AX*4), Y9
	MAC_BF16((SI)(AX*2), Y8, Y10, Y0)
	MAC_BF16(16(SI)(AX*2), Y9, Y11, Y4)
	MAC_BF16((R9)(AX*2), Y8, Y12, Y1)
	MAC_BF16(16(R9)(AX*2), Y9, Y13, Y5)
	MAC_BF16((R10)(AX*2), Y8, Y14, Y2)
	MAC_BF16(16(R10)(AX*2), Y9, Y15, Y6)
	MAC_BF16((R11)(AX*2), Y8, Y10, Y3)
	MAC_BF16(16(R11)(AX*2), Y9, Y11, Y7)
	ADDQ $16, AX
	JMP  loop2

tail1:
	CMPQ AX, CX
	JAE  reduce
	VMOVUPS (DX)(AX*4), Y8
	MAC_BF16((SI)(AX*2), Y8, Y10, Y0)
	MAC_BF16((R9)(AX*2), Y8, Y12, Y1)
	MAC_BF16((R10)(AX*2), Y8, Y14, Y2)
	MAC_BF16((R11)(AX*2), Y8, Y10, Y3)

reduce:
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	REDUCE4_256
	MOVQ dst+0(FP), DI
	VMOVUPS X0, (DI)
	VZEROUPPER
	RET

// func matVec4F16AVX2(dst *float32, w unsafe.Pointer, stride int, x *float32, n int)
TEXT ·matVec4F16AVX2(SB), NOSPLIT, $0-40
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ x+24(FP), DX
	MOVQ n+32(FP), CX
	SHLQ $1, R8
	LEAQ (SI)(R8*1), R9
	LEAQ (SI)(R8*2), R10
	LEAQ (R9)(R8*2), R11
	IMUL3Q $8, R8, R12
	ADDQ SI, R12
	LEAQ (R12)(R8*1), R13
	LEAQ (R13)(R8*2), DI
	LEAQ (R12)(R8*2), R8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-16, BX

loop2:
	CMPQ AX, BX
	JAE  tail1
	PREFETCHT0 (R12)(AX*2)
	PREFETCHT0 (R13)(AX*2)
	PREFETCHT0 (R8)(AX*2)
	PREFETCHT0 (DI)(AX*2)
	VMOVUPS (DX)(AX*4), Y8
	VMOVUPS 32(DX)(AX*4), Y9
	MAC_F16((SI)(AX*2), Y8, Y10, Y0)
	MAC_F16(16(SI)(AX*2), Y9, Y11, Y4)
	MAC_F16((R9)(AX*2), Y8, Y12, Y1)
	MAC_F16(16(R9)(AX*2), Y9, Y13, Y5)
	MAC_F16((R10)(AX*2), Y8, Y14, Y2)
	MAC_F16(16(R10)(AX*2), Y9, Y15, Y6)
	MAC_F16((R11)(AX*2), Y8, Y10, Y3)
	MAC_F16(16(R11)(AX*2), Y9, Y11, Y7)
	ADDQ $16, AX
	JMP  loop2

tail1:
	CMPQ AX, CX
	JAE  reduce
	VMOVUPS (DX)(AX*4), Y8
	MAC_F16((SI)(AX*2), Y8, Y10, Y0)
	MAC_F16((R9)(AX*2), Y8, Y12, Y1)
	MAC_F16((R10)(AX*2), Y8, Y14, Y2)
	MAC_F16((R11)(AX*2), Y8, Y10, Y3)

reduce:
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	REDUCE4_256
	MOVQ dst+0(FP), DI
	VMOVUPS X0, (DI)
	VZEROUPPER
	RET

// func matVec4F32AVX2(dst *float32, w unsafe.Pointer, stride int, x *float32, n int)
TEXT ·matVec4F32AVX2(SB), NOSPLIT, $0-40
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ x+24(FP), DX
	MOVQ n+32(FP), CX
	SHLQ $2, R8
	LEAQ (SI)(R8*1), R9
	LEAQ (SI)(R8*2), R10
	LEAQ (R9)(R8*2), R11
	IMUL3Q $8, R8, R12
	ADDQ SI, R12
	LEAQ (R12)(R8*1), R13
	LEAQ (R13)(R8*2), DI
	LEAQ (R12)(R8*2), R8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-16, BX

loop2:
	CMPQ AX, BX
	JAE  tail1
	PREFETCHT0 (R12)(AX*4)
	PREFETCHT0 (R13)(AX*4)
	PREFETCHT0 (R8)(AX*4)
	PREFETCHT0 (DI)(AX*4)
	VMOVUPS (DX)(AX*4), Y8
	VMOVUPS 32(DX)(AX*4), Y9
	MAC_F32((SI)(AX*4), Y8, Y10, Y0)
	MAC_F32(32(SI)(AX*4), Y9, Y11, Y4)
	MAC_F32((R9)(AX*4), Y8, Y12, Y1)
	MAC_F32(32(R9)(AX*4), Y9, Y13, Y5)
	MAC_F32((R10)(AX*4), Y8, Y14, Y2)
	MAC_F32(32(R10)(AX*4), Y9, Y15, Y6)
	MAC_F32((R11)(AX*4), Y8, Y10, Y3)
	MAC_F32(32(R11)(AX*4), Y9, Y11, Y7)
	ADDQ $16, AX
	JMP  loop2

tail1:
	CMPQ AX, CX
	JAE  reduce
	VMOVUPS (DX)(AX*4), Y8
	MAC_F32((SI)(AX*4), Y8, Y10, Y0)
	MAC_F32((R9)(AX*4), Y8, Y12, Y1)
	MAC_F32((R10)(AX*4), Y8, Y14, Y2)
	MAC_F32((R11)(AX*4), Y8, Y10, Y3)

reduce:
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	REDUCE4_256
	MOVQ dst+0(FP), DI
	VMOVUPS X0, (DI)
	VZEROUPPER
	RET
