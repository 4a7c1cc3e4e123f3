#include "textflag.h"

// Kernels of ScoreRows and WeightedRowSums (scores.go): several queries
// over the same rows, each query's arithmetic exactly that of the
// single-query kernels (matVecF32AVX512, rowSum64AVX512).

// COMBINE(op, lo, hi, a, b): a = op(lo; a, b) + op(hi; a, b), the two
// shuffles of a and b (Intel operand order: a first) added lane by lane.
#define COMBINE(op, lo, hi, a, b) \
	op     lo, b, a, Z16; \
	op     hi, b, a, Z17; \
	VADDPS Z17, Z16, a

// REDUCE16 sums the lanes of Z0..Z15 (rows 0..15 of a block) into Z0,
// lane r = row r, pairing lanes as HSUM_Z0 does: i with i+8 (Z[j], j < 4,
// then holds rows j and j+4 in its halves, Z[8+j] rows 8+j and 12+j), i
// with i+4 (128-bit block k of Z[j] holds row 4k+j), (0+1) and (2+3)
// (block k of Z0 holds rows 4k and 4k+1, of Z2 rows 4k+2 and 4k+3), and
// the two halves. Clobbers Z1..Z17.
#define REDUCE16 \
	COMBINE(VSHUFF32X4, $0x44, $0xEE, Z0, Z4); \
	COMBINE(VSHUFF32X4, $0x44, $0xEE, Z1, Z5); \
	COMBINE(VSHUFF32X4, $0x44, $0xEE, Z2, Z6); \
	COMBINE(VSHUFF32X4, $0x44, $0xEE, Z3, Z7); \
	COMBINE(VSHUFF32X4, $0x44, $0xEE, Z8, Z12); \
	COMBINE(VSHUFF32X4, $0x44, $0xEE, Z9, Z13); \
	COMBINE(VSHUFF32X4, $0x44, $0xEE, Z10, Z14); \
	COMBINE(VSHUFF32X4, $0x44, $0xEE, Z11, Z15); \
	COMBINE(VSHUFF32X4, $0x88, $0xDD, Z0, Z8); \
	COMBINE(VSHUFF32X4, $0x88, $0xDD, Z1, Z9); \
	COMBINE(VSHUFF32X4, $0x88, $0xDD, Z2, Z10); \
	COMBINE(VSHUFF32X4, $0x88, $0xDD, Z3, Z11); \
	COMBINE(VSHUFPS, $0x88, $0xDD, Z0, Z1); \
	COMBINE(VSHUFPS, $0x88, $0xDD, Z2, Z3); \
	COMBINE(VSHUFPS, $0x88, $0xDD, Z0, Z2)

// func scoreRows16AVX512(dst, rows, q *float32, blocks, nq, dim, m int, scale float32, scratch *float32)
//
// For each block of 16 rows and each query: phase A leaves row r's
// partial-sum vector in scratch[16r:16r+16], accumulated as
// matVecF32AVX512 does (16-column chunks alternately into two registers,
// from zero, then added); phase B loads the 16 vectors and sums the lanes
// of every one at once, pairing lanes as HSUM_Z0 does: lane i with i+8,
// then i with i+4, then (0+1) and (2+3), then those two, so the 16 sums
// come out in row order in one register, scaled and stored.
//
// Registers: DI dst of the block, SI first row of the block, R8 blocks
// left, R10 row stride in bytes, R11 bytes between queries' scores, CX
// dim in bytes, BX the part of it done two chunks at a time, R13 queries
// left, R14 the query, DX its scores, R9 the row, R12 the scratch, AX the
// column offset, Z20 the scale.
TEXT ·scoreRows16AVX512(SB), NOSPLIT, $0-72
	MOVQ         dst+0(FP), DI
	MOVQ         rows+8(FP), SI
	MOVQ         blocks+24(FP), R8
	MOVQ         dim+40(FP), CX
	SHLQ         $2, CX
	MOVQ         CX, R10
	MOVQ         CX, BX
	ANDQ         $-128, BX
	MOVQ         m+48(FP), R11
	SHLQ         $2, R11
	VBROADCASTSS scale+56(FP), Z20

block:
	MOVQ nq+32(FP), R13
	MOVQ q+16(FP), R14
	MOVQ DI, DX

query:
	MOVQ scratch+64(FP), R12
	MOVQ SI, R9

rowA:
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	XORQ   AX, AX

stepA:
	CMPQ        AX, BX
	JAE         tailA
	VMOVUPS     (R14)(AX*1), Z18
	VMOVUPS     64(R14)(AX*1), Z19
	VFMADD231PS (R9)(AX*1), Z18, Z16
	VFMADD231PS 64(R9)(AX*1), Z19, Z17
	ADDQ        $128, AX
	JMP         stepA

tailA:
	CMPQ        AX, CX
	JAE         sumA
	VMOVUPS     (R14)(AX*1), Z18
	VFMADD231PS (R9)(AX*1), Z18, Z16
	ADDQ        $64, AX
	JMP         tailA

sumA:
	VADDPS  Z17, Z16, Z16
	VMOVUPS Z16, (R12)
	ADDQ    $64, R12
	ADDQ    R10, R9
	MOVQ    scratch+64(FP), AX
	ADDQ    $1024, AX
	CMPQ    R12, AX
	JB      rowA

	// Phase B: Z0..Z15 = rows 0..15 of the block, summed.
	MOVQ    scratch+64(FP), R12
	VMOVUPS 0(R12), Z0
	VMOVUPS 64(R12), Z1
	VMOVUPS 128(R12), Z2
	VMOVUPS 192(R12), Z3
	VMOVUPS 256(R12), Z4
	VMOVUPS 320(R12), Z5
	VMOVUPS 384(R12), Z6
	VMOVUPS 448(R12), Z7
	VMOVUPS 512(R12), Z8
	VMOVUPS 576(R12), Z9
	VMOVUPS 640(R12), Z10
	VMOVUPS 704(R12), Z11
	VMOVUPS 768(R12), Z12
	VMOVUPS 832(R12), Z13
	VMOVUPS 896(R12), Z14
	VMOVUPS 960(R12), Z15

	REDUCE16

	VMULPS  Z20, Z0, Z0
	VMOVUPS Z0, (DX)

	ADDQ R11, DX
	ADDQ R10, R14
	DECQ R13
	JNZ  query

	ADDQ $64, DI
	MOVQ R10, AX
	SHLQ $4, AX
	ADDQ AX, SI
	DECQ R8
	JNZ  block
	VZEROUPPER
	RET

// AHEAD is how far ahead of the row being read the kernels prefetch (in
// bytes, a page): the hardware prefetchers stop at page boundaries, and a
// KV cache too large for the caches streams from memory (measured: about
// 12 % faster on 2048 rows out of cache, BenchmarkGroupAttention's shape).
#define AHEAD 4096

// DOT64(off, z): z = row·q for the row off bytes past R9, dim 64, with the
// query in Z18..Z21: chunks 0 and 2 into one register, 1 and 3 into
// another, from zero, then added (matVecF32AVX512's order). The row AHEAD
// bytes on is prefetched.
#define DOT64(off, z) \
	PREFETCHT0  off+AHEAD(R9); \
	PREFETCHT0  off+AHEAD+64(R9); \
	PREFETCHT0  off+AHEAD+128(R9); \
	PREFETCHT0  off+AHEAD+192(R9); \
	VPXORD      Z16, Z16, Z16; \
	VPXORD      Z17, Z17, Z17; \
	VFMADD231PS off+0(R9), Z18, Z16; \
	VFMADD231PS off+64(R9), Z19, Z17; \
	VFMADD231PS off+128(R9), Z20, Z16; \
	VFMADD231PS off+192(R9), Z21, Z17; \
	VADDPS      Z17, Z16, z

// func scoreRows64AVX512(dst, rows, q *float32, blocks, nq, m int, scale float32)
//
// scoreRows16AVX512 for dim 64, unrolled: the query stays in Z18..Z21 and
// the 16 rows' partial sums in Z0..Z15, with no scratch.
//
// Registers: DI dst of the block, SI first row of the block, R8 blocks
// left, R11 bytes between queries' scores, R13 queries left, R14 the
// query, DX its scores, R9 the row, Z22 the scale.
TEXT ·scoreRows64AVX512(SB), NOSPLIT, $0-52
	MOVQ         dst+0(FP), DI
	MOVQ         rows+8(FP), SI
	MOVQ         blocks+24(FP), R8
	MOVQ         m+40(FP), R11
	SHLQ         $2, R11
	VBROADCASTSS scale+48(FP), Z22

block64:
	MOVQ nq+32(FP), R13
	MOVQ q+16(FP), R14
	MOVQ DI, DX

query64:
	VMOVUPS 0(R14), Z18
	VMOVUPS 64(R14), Z19
	VMOVUPS 128(R14), Z20
	VMOVUPS 192(R14), Z21
	MOVQ    SI, R9
	DOT64(0, Z0)
	DOT64(256, Z1)
	DOT64(512, Z2)
	DOT64(768, Z3)
	DOT64(1024, Z4)
	DOT64(1280, Z5)
	DOT64(1536, Z6)
	DOT64(1792, Z7)
	ADDQ    $2048, R9
	DOT64(0, Z8)
	DOT64(256, Z9)
	DOT64(512, Z10)
	DOT64(768, Z11)
	DOT64(1024, Z12)
	DOT64(1280, Z13)
	DOT64(1536, Z14)
	DOT64(1792, Z15)
	REDUCE16
	VMULPS  Z22, Z0, Z0
	VMOVUPS Z0, (DX)

	ADDQ $256, R14
	ADDQ R11, DX
	DECQ R13
	JNZ  query64

	ADDQ $64, DI
	ADDQ $4096, SI
	DECQ R8
	JNZ  block64
	VZEROUPPER
	RET

// ROW4: a0..a3 += wv·row[0:64].
#define ROW4(base, wv, a0, a1, a2, a3) \
	VFMADD231PS 0(base), wv, a0; \
	VFMADD231PS 64(base), wv, a1; \
	VFMADD231PS 128(base), wv, a2; \
	VFMADD231PS 192(base), wv, a3

// func rowSum64x3AVX512(dst, w, rows *float32, count, stride int)
//
// rowSum64AVX512 for three queries at once: each query has its own two
// register sets (even rows, odd rows) of four, gets the same FMAs in the
// same order, and its sets are added at the end. Each row is read from
// memory for the first query and from L1 for the other two.
//
// Registers: DI dst, DX the first query's weight (R9 bytes to the next
// query's), SI current row (R11 the next), CX count, R8 stride in bytes.
// The pair of rows AHEAD bytes on is prefetched (rows of 64 floats).
TEXT ·rowSum64x3AVX512(SB), NOSPLIT, $0-40
	MOVQ   dst+0(FP), DI
	MOVQ   w+8(FP), DX
	MOVQ   rows+16(FP), SI
	MOVQ   count+24(FP), CX
	MOVQ   stride+32(FP), R8
	SHLQ   $2, R8
	MOVQ   CX, R9
	SHLQ   $2, R9
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
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	MOVQ   CX, BX
	SHRQ   $1, BX
	JZ     last

pair:
	VBROADCASTSS (DX), Z24
	VBROADCASTSS 4(DX), Z25
	VBROADCASTSS (DX)(R9*1), Z26
	VBROADCASTSS 4(DX)(R9*1), Z27
	VBROADCASTSS (DX)(R9*2), Z28
	VBROADCASTSS 4(DX)(R9*2), Z29
	LEAQ         (SI)(R8*1), R11
	PREFETCHT0   AHEAD(SI)
	PREFETCHT0   AHEAD+64(SI)
	PREFETCHT0   AHEAD+128(SI)
	PREFETCHT0   AHEAD+192(SI)
	PREFETCHT0   AHEAD+256(SI)
	PREFETCHT0   AHEAD+320(SI)
	PREFETCHT0   AHEAD+384(SI)
	PREFETCHT0   AHEAD+448(SI)
	ROW4(SI, Z24, Z0, Z1, Z2, Z3)
	ROW4(SI, Z26, Z8, Z9, Z10, Z11)
	ROW4(SI, Z28, Z16, Z17, Z18, Z19)
	ROW4(R11, Z25, Z4, Z5, Z6, Z7)
	ROW4(R11, Z27, Z12, Z13, Z14, Z15)
	ROW4(R11, Z29, Z20, Z21, Z22, Z23)
	ADDQ         $8, DX
	LEAQ         (SI)(R8*2), SI
	DECQ         BX
	JNZ          pair

last:
	TESTQ        $1, CX
	JZ           store
	VBROADCASTSS (DX), Z24
	VBROADCASTSS (DX)(R9*1), Z26
	VBROADCASTSS (DX)(R9*2), Z28
	ROW4(SI, Z24, Z0, Z1, Z2, Z3)
	ROW4(SI, Z26, Z8, Z9, Z10, Z11)
	ROW4(SI, Z28, Z16, Z17, Z18, Z19)

store:
	VADDPS  Z4, Z0, Z0
	VADDPS  Z5, Z1, Z1
	VADDPS  Z6, Z2, Z2
	VADDPS  Z7, Z3, Z3
	VADDPS  Z12, Z8, Z8
	VADDPS  Z13, Z9, Z9
	VADDPS  Z14, Z10, Z10
	VADDPS  Z15, Z11, Z11
	VADDPS  Z20, Z16, Z16
	VADDPS  Z21, Z17, Z17
	VADDPS  Z22, Z18, Z18
	VADDPS  Z23, Z19, Z19
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VMOVUPS Z8, 256(DI)
	VMOVUPS Z9, 320(DI)
	VMOVUPS Z10, 384(DI)
	VMOVUPS Z11, 448(DI)
	VMOVUPS Z16, 512(DI)
	VMOVUPS Z17, 576(DI)
	VMOVUPS Z18, 640(DI)
	VMOVUPS Z19, 704(DI)
	VZEROUPPER
	RET

// DOT64H(off, z): DOT64 over a row of 64 halves at off(R9), each chunk
// widened into Z23 before its FMA (matVecF16AVX512's MAC_F16); the row
// AHEAD bytes on is prefetched.
#define DOT64H(off, z) \
	PREFETCHT0  off+AHEAD(R9); \
	PREFETCHT0  off+AHEAD+64(R9); \
	VPXORD      Z16, Z16, Z16; \
	VPXORD      Z17, Z17, Z17; \
	VCVTPH2PS   off+0(R9), Z23; \
	VFMADD231PS Z23, Z18, Z16; \
	VCVTPH2PS   off+32(R9), Z23; \
	VFMADD231PS Z23, Z19, Z17; \
	VCVTPH2PS   off+64(R9), Z23; \
	VFMADD231PS Z23, Z20, Z16; \
	VCVTPH2PS   off+96(R9), Z23; \
	VFMADD231PS Z23, Z21, Z17; \
	VADDPS      Z17, Z16, z

// func scoreRows64F16AVX512(dst *float32, rows *uint16, q *float32, blocks, nq, m int, scale float32)
// Registers as in scoreRows64AVX512; rows are 128 bytes apart.
TEXT ·scoreRows64F16AVX512(SB), NOSPLIT, $0-52
	MOVQ         dst+0(FP), DI
	MOVQ         rows+8(FP), SI
	MOVQ         blocks+24(FP), R8
	MOVQ         m+40(FP), R11
	SHLQ         $2, R11
	VBROADCASTSS scale+48(FP), Z22

block64h:
	MOVQ nq+32(FP), R13
	MOVQ q+16(FP), R14
	MOVQ DI, DX

query64h:
	VMOVUPS 0(R14), Z18
	VMOVUPS 64(R14), Z19
	VMOVUPS 128(R14), Z20
	VMOVUPS 192(R14), Z21
	MOVQ    SI, R9
	DOT64H(0, Z0)
	DOT64H(128, Z1)
	DOT64H(256, Z2)
	DOT64H(384, Z3)
	DOT64H(512, Z4)
	DOT64H(640, Z5)
	DOT64H(768, Z6)
	DOT64H(896, Z7)
	DOT64H(1024, Z8)
	DOT64H(1152, Z9)
	DOT64H(1280, Z10)
	DOT64H(1408, Z11)
	DOT64H(1536, Z12)
	DOT64H(1664, Z13)
	DOT64H(1792, Z14)
	DOT64H(1920, Z15)
	REDUCE16
	VMULPS  Z22, Z0, Z0
	VMOVUPS Z0, (DX)

	ADDQ $256, R14
	ADDQ R11, DX
	DECQ R13
	JNZ  query64h

	ADDQ $64, DI
	ADDQ $2048, SI
	DECQ R8
	JNZ  block64h
	VZEROUPPER
	RET

// ROW4H(base, w0, w1, w2, a..l): the row of 64 halves at base widened a
// chunk at a time (Z30, Z31 alternately) and added, times w0, w1 and w2,
// into a0..a3 (first query), b0..b3 and c0..c3.
#define ROW4H(base, w0, w1, w2, a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3) \
	VCVTPH2PS   0(base), Z30; \
	VFMADD231PS Z30, w0, a0; \
	VFMADD231PS Z30, w1, b0; \
	VFMADD231PS Z30, w2, c0; \
	VCVTPH2PS   32(base), Z31; \
	VFMADD231PS Z31, w0, a1; \
	VFMADD231PS Z31, w1, b1; \
	VFMADD231PS Z31, w2, c1; \
	VCVTPH2PS   64(base), Z30; \
	VFMADD231PS Z30, w0, a2; \
	VFMADD231PS Z30, w1, b2; \
	VFMADD231PS Z30, w2, c2; \
	VCVTPH2PS   96(base), Z31; \
	VFMADD231PS Z31, w0, a3; \
	VFMADD231PS Z31, w1, b3; \
	VFMADD231PS Z31, w2, c3

// func rowSum64x3F16AVX512(dst, w *float32, rows *uint16, count, stride int)
// Registers as in rowSum64x3AVX512, stride in halves.
TEXT ·rowSum64x3F16AVX512(SB), NOSPLIT, $0-40
	MOVQ   dst+0(FP), DI
	MOVQ   w+8(FP), DX
	MOVQ   rows+16(FP), SI
	MOVQ   count+24(FP), CX
	MOVQ   stride+32(FP), R8
	SHLQ   $1, R8
	MOVQ   CX, R9
	SHLQ   $2, R9
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
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	MOVQ   CX, BX
	SHRQ   $1, BX
	JZ     lasth

pairh:
	VBROADCASTSS (DX), Z24
	VBROADCASTSS 4(DX), Z25
	VBROADCASTSS (DX)(R9*1), Z26
	VBROADCASTSS 4(DX)(R9*1), Z27
	VBROADCASTSS (DX)(R9*2), Z28
	VBROADCASTSS 4(DX)(R9*2), Z29
	LEAQ         (SI)(R8*1), R11
	PREFETCHT0   AHEAD(SI)
	PREFETCHT0   AHEAD+64(SI)
	PREFETCHT0   AHEAD+128(SI)
	PREFETCHT0   AHEAD+192(SI)
	ROW4H(SI, Z24, Z26, Z28, Z0, Z1, Z2, Z3, Z8, Z9, Z10, Z11, Z16, Z17, Z18, Z19)
	ROW4H(R11, Z25, Z27, Z29, Z4, Z5, Z6, Z7, Z12, Z13, Z14, Z15, Z20, Z21, Z22, Z23)
	ADDQ         $8, DX
	LEAQ         (SI)(R8*2), SI
	DECQ         BX
	JNZ          pairh

lasth:
	TESTQ        $1, CX
	JZ           storeh
	VBROADCASTSS (DX), Z24
	VBROADCASTSS (DX)(R9*1), Z26
	VBROADCASTSS (DX)(R9*2), Z28
	ROW4H(SI, Z24, Z26, Z28, Z0, Z1, Z2, Z3, Z8, Z9, Z10, Z11, Z16, Z17, Z18, Z19)

storeh:
	VADDPS  Z4, Z0, Z0
	VADDPS  Z5, Z1, Z1
	VADDPS  Z6, Z2, Z2
	VADDPS  Z7, Z3, Z3
	VADDPS  Z12, Z8, Z8
	VADDPS  Z13, Z9, Z9
	VADDPS  Z14, Z10, Z10
	VADDPS  Z15, Z11, Z11
	VADDPS  Z20, Z16, Z16
	VADDPS  Z21, Z17, Z17
	VADDPS  Z22, Z18, Z18
	VADDPS  Z23, Z19, Z19
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VMOVUPS Z8, 256(DI)
	VMOVUPS Z9, 320(DI)
	VMOVUPS Z10, 384(DI)
	VMOVUPS Z11, 448(DI)
	VMOVUPS Z16, 512(DI)
	VMOVUPS Z17, 576(DI)
	VMOVUPS Z18, 640(DI)
	VMOVUPS Z19, 704(DI)
	VZEROUPPER
	RET
