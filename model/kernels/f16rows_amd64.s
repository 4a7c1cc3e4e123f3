#include "textflag.h"

// WeightedRowSumF16 kernels: the rowsum_amd64.s kernels with every row
// read as FP16 and widened by VCVTPH2PS before its FMA, so each block has
// the same registers, the same row interleave and the same final adds as
// its float32 twin.
//
// func rowSum<width>F16<ISA>(dst, w *float32, rows *uint16, count, stride int)
//
// dst[c] = Σ_{j<count} w[j]·widen(rows[j·stride + c]) for the block's
// columns c, count ≥ 1, rows stride halves apart.
//
// Registers: DI dst, DX w, SI current row (R11 the next), CX count, R8
// stride in bytes; Z16..Z23 / Y8..Y15 hold widened rows.

#define ARGS \
	MOVQ dst+0(FP), DI; \
	MOVQ w+8(FP), DX; \
	MOVQ rows+16(FP), SI; \
	MOVQ count+24(FP), CX; \
	MOVQ stride+32(FP), R8; \
	SHLQ $1, R8

// acc += wv·widen(8 or 16 halves at mem).
#define MACH(mem, wv, tmp, acc) \
	VCVTPH2PS   mem, tmp; \
	VFMADD231PS tmp, wv, acc

#define ROW8Y(base, wv, a0, a1, a2, a3, a4, a5, a6, a7) \
	MACH(0(base), wv, Y10, a0); \
	MACH(16(base), wv, Y11, a1); \
	MACH(32(base), wv, Y12, a2); \
	MACH(48(base), wv, Y13, a3); \
	MACH(64(base), wv, Y10, a4); \
	MACH(80(base), wv, Y11, a5); \
	MACH(96(base), wv, Y12, a6); \
	MACH(112(base), wv, Y13, a7)

#define ROW4Y(base, wv, a0, a1, a2, a3) \
	MACH(0(base), wv, Y10, a0); \
	MACH(16(base), wv, Y11, a1); \
	MACH(32(base), wv, Y12, a2); \
	MACH(48(base), wv, Y13, a3)

#define ROW8Z(base, wv, a0, a1, a2, a3, a4, a5, a6, a7) \
	MACH(0(base), wv, Z16, a0); \
	MACH(32(base), wv, Z17, a1); \
	MACH(64(base), wv, Z18, a2); \
	MACH(96(base), wv, Z19, a3); \
	MACH(128(base), wv, Z20, a4); \
	MACH(160(base), wv, Z21, a5); \
	MACH(192(base), wv, Z22, a6); \
	MACH(224(base), wv, Z23, a7)

#define ROW4Z(base, wv, a0, a1, a2, a3) \
	MACH(0(base), wv, Z16, a0); \
	MACH(32(base), wv, Z17, a1); \
	MACH(64(base), wv, Z18, a2); \
	MACH(96(base), wv, Z19, a3)

// func rowSum64F16AVX2(dst, w *float32, rows *uint16, count, stride int)
TEXT ·rowSum64F16AVX2(SB), NOSPLIT, $0-40
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

// func rowSum32F16AVX2(dst, w *float32, rows *uint16, count, stride int)
TEXT ·rowSum32F16AVX2(SB), NOSPLIT, $0-40
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

// func rowSum8F16AVX2(dst, w *float32, rows *uint16, count, stride int)
// The full-vector case of rowSum8AVX2: four rows interleaved.
TEXT ·rowSum8F16AVX2(SB), NOSPLIT, $0-40
	ARGS
	LEAQ   (R8)(R8*2), R10
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ   CX, BX
	SHRQ   $2, BX
	JZ     rest

quad:
	VBROADCASTSS (DX), Y8
	VBROADCASTSS 4(DX), Y9
	VBROADCASTSS 8(DX), Y10
	VBROADCASTSS 12(DX), Y11
	VCVTPH2PS    (SI), Y4
	VCVTPH2PS    (SI)(R8*1), Y5
	VCVTPH2PS    (SI)(R8*2), Y6
	VCVTPH2PS    (SI)(R10*1), Y7
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
	VCVTPH2PS    (SI), Y4
	VFMADD231PS  Y4, Y8, Y0
	ADDQ         $4, DX
	ADDQ         R8, SI
	DECQ         CX
	JNZ          one

store:
	VADDPS  Y1, Y0, Y0
	VADDPS  Y3, Y2, Y2
	VADDPS  Y2, Y0, Y0
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func rowSum128F16AVX512(dst, w *float32, rows *uint16, count, stride int)
TEXT ·rowSum128F16AVX512(SB), NOSPLIT, $0-40
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

// func rowSum64F16AVX512(dst, w *float32, rows *uint16, count, stride int)
TEXT ·rowSum64F16AVX512(SB), NOSPLIT, $0-40
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

// func rowSum16F16AVX512(dst, w *float32, rows *uint16, count, stride int)
// The full-vector case of rowSum16AVX512: four rows interleaved.
TEXT ·rowSum16F16AVX512(SB), NOSPLIT, $0-40
	ARGS
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
	VCVTPH2PS    (SI), Z4
	VCVTPH2PS    (SI)(R8*1), Z5
	VCVTPH2PS    (SI)(R8*2), Z6
	VCVTPH2PS    (SI)(R10*1), Z7
	VFMADD231PS  Z4, Z8, Z0
	VFMADD231PS  Z5, Z9, Z1
	VFMADD231PS  Z6, Z10, Z2
	VFMADD231PS  Z7, Z11, Z3
	ADDQ         $16, DX
	LEAQ         (SI)(R8*4), SI
	DECQ         BX
	JNZ          quad

rest:
	ANDQ $3, CX
	JZ   store

one:
	VBROADCASTSS (DX), Z8
	VCVTPH2PS    (SI), Z4
	VFMADD231PS  Z4, Z8, Z0
	ADDQ         $4, DX
	ADDQ         R8, SI
	DECQ         CX
	JNZ          one

store:
	VADDPS  Z1, Z0, Z0
	VADDPS  Z3, Z2, Z2
	VADDPS  Z2, Z0, Z0
	VMOVUPS Z0, (DI)
	VZEROUPPER
	RET
