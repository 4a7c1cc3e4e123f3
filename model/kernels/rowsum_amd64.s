#include "textflag.h"

// WeightedRowSum kernels.
//
// func rowSum<width><ISA>(dst, w, rows *float32, count, stride int[, mask])
//
// dst[c] = Σ_{j<count} w[j]·rows[j·stride + c] for the block's columns c,
// count ≥ 1, rows stride floats apart. The block's partial sums stay in
// registers for the whole walk over the rows and are stored once. Every
// register gets one FMA per row, so a block of k vector registers has k
// independent chains; blocks with fewer than 8 registers interleave 2 or
// 4 rows into separate register sets (8 chains in flight, enough to cover
// the FMA latency) and add the sets at the end.
//
// Registers: DI dst, DX w, SI current row (R11 the next), CX count, R8
// stride in bytes.

#define ARGS \
	MOVQ dst+0(FP), DI; \
	MOVQ w+8(FP), DX; \
	MOVQ rows+16(FP), SI; \
	MOVQ count+24(FP), CX; \
	MOVQ stride+32(FP), R8; \
	SHLQ $2, R8

// ROW8Y: acc0..7 += wv·row[0:64] (AVX2, 8 YMM registers).
#define ROW8Y(base, wv, a0, a1, a2, a3, a4, a5, a6, a7) \
	VFMADD231PS 0(base), wv, a0; \
	VFMADD231PS 32(base), wv, a1; \
	VFMADD231PS 64(base), wv, a2; \
	VFMADD231PS 96(base), wv, a3; \
	VFMADD231PS 128(base), wv, a4; \
	VFMADD231PS 160(base), wv, a5; \
	VFMADD231PS 192(base), wv, a6; \
	VFMADD231PS 224(base), wv, a7

#define ROW4Y(base, wv, a0, a1, a2, a3) \
	VFMADD231PS 0(base), wv, a0; \
	VFMADD231PS 32(base), wv, a1; \
	VFMADD231PS 64(base), wv, a2; \
	VFMADD231PS 96(base), wv, a3

#define ROW8Z(base, wv, a0, a1, a2, a3, a4, a5, a6, a7) \
	VFMADD231PS 0(base), wv, a0; \
	VFMADD231PS 64(base), wv, a1; \
	VFMADD231PS 128(base), wv, a2; \
	VFMADD231PS 192(base), wv, a3; \
	VFMADD231PS 256(base), wv, a4; \
	VFMADD231PS 320(base), wv, a5; \
	VFMADD231PS 384(base), wv, a6; \
	VFMADD231PS 448(base), wv, a7

#define ROW4Z(base, wv, a0, a1, a2, a3) \
	VFMADD231PS 0(base), wv, a0; \
	VFMADD231PS 64(base), wv, a1; \
	VFMADD231PS 128(base), wv, a2; \
	VFMADD231PS 192(base), wv, a3

// func rowSum64AVX2(dst, w, rows *float32, count, stride int)
TEXT ·rowSum64AVX2(SB), NOSPLIT, $0-40
	ARGS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ   CX, BX
	SHRQ   $1, BX
	JZ     last

pair:
	VBROADCASTSS (DX), Y8
	VBROADCASTSS 4(DX), Y9
	ROW8Y(SI, Y8, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	LEAQ         (SI)(R8*1), R11
	ROW8Y(R11, Y9, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	ADDQ         $8, DX
	LEAQ         (SI)(R8*2), SI
	DECQ         BX
	JNZ          pair

last:
	TESTQ        $1, CX
	JZ           store
	VBROADCASTSS (DX), Y8
	ROW8Y(SI, Y8, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)

store:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	VZEROUPPER
	RET

// func rowSum32AVX2(dst, w, rows *float32, count, stride int)
TEXT ·rowSum32AVX2(SB), NOSPLIT, $0-40
	ARGS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ   CX, BX
	SHRQ   $1, BX
	JZ     last

pair:
	VBROADCASTSS (DX), Y8
	VBROADCASTSS 4(DX), Y9
	ROW4Y(SI, Y8, Y0, Y1, Y2, Y3)
	LEAQ         (SI)(R8*1), R11
	ROW4Y(R11, Y9, Y4, Y5, Y6, Y7)
	ADDQ         $8, DX
	LEAQ         (SI)(R8*2), SI
	DECQ         BX
	JNZ          pair

last:
	TESTQ        $1, CX
	JZ           store
	VBROADCASTSS (DX), Y8
	ROW4Y(SI, Y8, Y0, Y1, Y2, Y3)

store:
	VADDPS  Y4, Y0, Y0
	VADDPS  Y5, Y1, Y1
	VADDPS  Y6, Y2, Y2
	VADDPS  Y7, Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VZEROUPPER
	RET

// func rowSum8AVX2(dst, w, rows *float32, count, stride int, mask *int32)
// Rows are read with VMASKMOVPS under the lane mask in Y15.
TEXT ·rowSum8AVX2(SB), NOSPLIT, $0-48
	ARGS
	MOVQ    mask+40(FP), AX
	VMOVDQU (AX), Y15
	LEAQ    (R8)(R8*2), R10
	VXORPS  Y0, Y0, Y0
	VXORPS  Y1, Y1, Y1
	VXORPS  Y2, Y2, Y2
	VXORPS  Y3, Y3, Y3
	MOVQ    CX, BX
	SHRQ    $2, BX
	JZ      rest

quad:
	VBROADCASTSS (DX), Y8
	VBROADCASTSS 4(DX), Y9
	VBROADCASTSS 8(DX), Y10
	VBROADCASTSS 12(DX), Y11
	VMASKMOVPS   (SI), Y15, Y4
	VMASKMOVPS   (SI)(R8*1), Y15, Y5
	VMASKMOVPS   (SI)(R8*2), Y15, Y6
	VMASKMOVPS   (SI)(R10*1), Y15, Y7
	VFMADD231PS  Y4, Y8, Y0
	VFMADD231PS  Y5, Y9, Y1
	VFMADD231PS  Y6, Y10, Y2
	VFMADD231PS  Y7, Y11, Y3
	ADDQ         $16, DX
	LEAQ         (SI)(R8*4), SI
	DECQ         BX
	JNZ          quad

rest:
	ANDQ $3, CX
	JZ   store

one:
	VBROADCASTSS (DX), Y8
	VMASKMOVPS   (SI), Y15, Y4
	VFMADD231PS  Y4, Y8, Y0
	ADDQ         $4, DX
	ADDQ         R8, SI
	DECQ         CX
	JNZ          one

store:
	VADDPS     Y1, Y0, Y0
	VADDPS     Y3, Y2, Y2
	VADDPS     Y2, Y0, Y0
	VMASKMOVPS Y0, Y15, (DI)
	VZEROUPPER
	RET

// func rowSum128AVX512(dst, w, rows *float32, count, stride int)
TEXT ·rowSum128AVX512(SB), NOSPLIT, $0-40
	ARGS
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	MOVQ   CX, BX
	SHRQ   $1, BX
	JZ     last

pair:
	VBROADCASTSS (DX), Z8
	VBROADCASTSS 4(DX), Z9
	ROW8Z(SI, Z8, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	LEAQ         (SI)(R8*1), R11
	ROW8Z(R11, Z9, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	ADDQ         $8, DX
	LEAQ         (SI)(R8*2), SI
	DECQ         BX
	JNZ          pair

last:
	TESTQ        $1, CX
	JZ           store
	VBROADCASTSS (DX), Z8
	ROW8Z(SI, Z8, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)

store:
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VMOVUPS Z4, 256(DI)
	VMOVUPS Z5, 320(DI)
	VMOVUPS Z6, 384(DI)
	VMOVUPS Z7, 448(DI)
	VZEROUPPER
	RET

// func rowSum64AVX512(dst, w, rows *float32, count, stride int)
TEXT ·rowSum64AVX512(SB), NOSPLIT, $0-40
	ARGS
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	MOVQ   CX, BX
	SHRQ   $1, BX
	JZ     last

pair:
	VBROADCASTSS (DX), Z8
	VBROADCASTSS 4(DX), Z9
	ROW4Z(SI, Z8, Z0, Z1, Z2, Z3)
	LEAQ         (SI)(R8*1), R11
	ROW4Z(R11, Z9, Z4, Z5, Z6, Z7)
	ADDQ         $8, DX
	LEAQ         (SI)(R8*2), SI
	DECQ         BX
	JNZ          pair

last:
	TESTQ        $1, CX
	JZ           store
	VBROADCASTSS (DX), Z8
	ROW4Z(SI, Z8, Z0, Z1, Z2, Z3)

store:
	VADDPS  Z4, Z0, Z0
	VADDPS  Z5, Z1, Z1
	VADDPS  Z6, Z2, Z2
	VADDPS  Z7, Z3, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VZEROUPPER
	RET

// func rowSum16AVX512(dst, w, rows *float32, count, stride int, mask uint16)
// Merge-masked FMAs read only the columns in K1 (masked-off lanes do not
// fault) and leave the other lanes of the partial sums at zero.
TEXT ·rowSum16AVX512(SB), NOSPLIT, $0-42
	ARGS
	KMOVW  mask+40(FP), K1
	LEAQ   (R8)(R8*2), R10
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ   CX, BX
	SHRQ   $2, BX
	JZ     rest

quad:
	VBROADCASTSS (DX), Z8
	VBROADCASTSS 4(DX), Z9
	VBROADCASTSS 8(DX), Z10
	VBROADCASTSS 12(DX), Z11
	VFMADD231PS  (SI), Z8, K1, Z0
	VFMADD231PS  (SI)(R8*1), Z9, K1, Z1
	VFMADD231PS  (SI)(R8*2), Z10, K1, Z2
	VFMADD231PS  (SI)(R10*1), Z11, K1, Z3
	ADDQ         $16, DX
	LEAQ         (SI)(R8*4), SI
	DECQ         BX
	JNZ          quad

rest:
	ANDQ $3, CX
	JZ   store

one:
	VBROADCASTSS (DX), Z8
	VFMADD231PS  (SI), Z8, K1, Z0
	ADDQ         $4, DX
	ADDQ         R8, SI
	DECQ         CX
	JNZ          one

store:
	VADDPS  Z1, Z0, Z0
	VADDPS  Z3, Z2, Z2
	VADDPS  Z2, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	VZEROUPPER
	RET
