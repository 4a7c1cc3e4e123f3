#include "textflag.h"

// Float32 exponential and the kernels built on it: Exp, the exp-and-sum
// pass of Softmax and SiLU·up. The algorithm and its constants are those
// of exp32 in exp.go (the plain-Go twin):
//
//	x  = clamp(x, -104, 89)           NaN passes through (x is the second
//	                                  source of VMAXPS/VMINPS)
//	n  = round(x·log2e)
//	r  = x - n·ln2hi - n·ln2lo        Cody–Waite, two FMAs
//	p  = 1 + r·(1 + r·(c2 + … + r·c6)) Horner, FMA
//	e^x = p·2^n                       AVX2: two exponent-built factors
//	                                  2^h·2^(n-h), h = n>>1; AVX-512:
//	                                  VSCALEFPS. Both round once.

// expc holds each constant as 8 float32 copies (a 32-byte AVX2 operand);
// the AVX-512 kernels broadcast the first copy.
#define CONST8(off, bits) \
	DATA expc<>+(off+0)(SB)/4, bits; \
	DATA expc<>+(off+4)(SB)/4, bits; \
	DATA expc<>+(off+8)(SB)/4, bits; \
	DATA expc<>+(off+12)(SB)/4, bits; \
	DATA expc<>+(off+16)(SB)/4, bits; \
	DATA expc<>+(off+20)(SB)/4, bits; \
	DATA expc<>+(off+24)(SB)/4, bits; \
	DATA expc<>+(off+28)(SB)/4, bits

CONST8(0, $0xc2d00000)   // -104: lower clamp
CONST8(32, $0x42b20000)  // 89: upper clamp
CONST8(64, $0x3fb8aa3b)  // log2(e)
CONST8(96, $0x3f318000)  // ln2hi = 0.693359375
CONST8(128, $0xb95e8083) // ln2lo = ln2 - ln2hi
CONST8(160, $0x3ab51170) // c6
CONST8(192, $0x3c091d57) // c5
CONST8(224, $0x3d2aac7b) // c4
CONST8(256, $0x3e2aaa48) // c3
CONST8(288, $0x3efffffe) // c2
CONST8(320, $0x3f800000) // 1
CONST8(352, $0x0000007f) // exponent bias (int32)
CONST8(384, $0x80000000) // sign bit
GLOBL expc<>(SB), RODATA|NOPTR, $416

#define LOG2E expc<>+64(SB)
#define LN2HI expc<>+96(SB)
#define LN2LO expc<>+128(SB)
#define BIAS expc<>+352(SB)
#define SIGN expc<>+384(SB)

// AVX2 kernels keep min, max, c6…c2 and 1 in Y8…Y15.
#define LOAD_CONST_AVX2 \
	VMOVUPS expc<>+0(SB), Y8; \
	VMOVUPS expc<>+32(SB), Y9; \
	VMOVUPS expc<>+160(SB), Y10; \
	VMOVUPS expc<>+192(SB), Y11; \
	VMOVUPS expc<>+224(SB), Y12; \
	VMOVUPS expc<>+256(SB), Y13; \
	VMOVUPS expc<>+288(SB), Y14; \
	VMOVUPS expc<>+320(SB), Y15

// EXP8 replaces the eight lanes of X by e^X, using N and T as scratch.
#define EXP8(X, N, T) \
	VMAXPS X, Y8, X; \
	VMINPS X, Y9, X; \
	REDUCE8(X, N); \
	POLY_SCALE8(X, N, T)

// REDUCE8 sets N = round(X·log2e) and X = X - N·ln2 (Cody–Waite).
#define REDUCE8(X, N) \
	VMULPS       LOG2E, X, N; \
	VROUNDPS     $0, N, N; \
	VFNMADD231PS LN2HI, N, X; \
	VFNMADD231PS LN2LO, N, X

// POLY_SCALE8 sets X = p(X)·2^N, N holding whole numbers as floats.
#define POLY_SCALE8(X, N, T) \
	VMOVAPS     Y11, T; \
	VFMADD231PS Y10, X, T; \
	VFMADD213PS Y12, X, T; \
	VFMADD213PS Y13, X, T; \
	VFMADD213PS Y14, X, T; \
	VFMADD213PS Y15, X, T; \
	VFMADD213PS Y15, X, T; \
	VCVTPS2DQ   N, N; \
	VPSRAD      $1, N, X; \
	VPSUBD      X, N, N; \
	VPADDD      BIAS, X, X; \
	VPSLLD      $23, X, X; \
	VPADDD      BIAS, N, N; \
	VPSLLD      $23, N, N; \
	VMULPS      X, T, T; \
	VMULPS      N, T, X

// AVX-512 kernels keep their constants in Z16…Z27.
#define LOAD_CONST_AVX512 \
	VBROADCASTSS expc<>+0(SB), Z16; \
	VBROADCASTSS expc<>+32(SB), Z17; \
	VBROADCASTSS expc<>+64(SB), Z18; \
	VBROADCASTSS expc<>+96(SB), Z19; \
	VBROADCASTSS expc<>+128(SB), Z20; \
	VBROADCASTSS expc<>+160(SB), Z21; \
	VBROADCASTSS expc<>+192(SB), Z22; \
	VBROADCASTSS expc<>+224(SB), Z23; \
	VBROADCASTSS expc<>+256(SB), Z24; \
	VBROADCASTSS expc<>+288(SB), Z25; \
	VBROADCASTSS expc<>+320(SB), Z26; \
	VBROADCASTSS expc<>+384(SB), Z27

// EXP16 replaces the sixteen lanes of X by e^X, using N and T as scratch.
#define EXP16(X, N, T) \
	VMAXPS X, Z16, X; \
	VMINPS X, Z17, X; \
	REDUCE16(X, N); \
	POLY_SCALE16(X, N, T)

#define REDUCE16(X, N) \
	VMULPS       Z18, X, N; \
	VRNDSCALEPS  $0, N, N; \
	VFNMADD231PS Z19, N, X; \
	VFNMADD231PS Z20, N, X

#define POLY_SCALE16(X, N, T) \
	VMOVAPS     Z22, T; \
	VFMADD231PS Z21, X, T; \
	VFMADD213PS Z23, X, T; \
	VFMADD213PS Z24, X, T; \
	VFMADD213PS Z25, X, T; \
	VFMADD213PS Z26, X, T; \
	VFMADD213PS Z26, X, T; \
	VSCALEFPS   N, T, X

// Softmax's exp-and-sum pass computes e^(x-m) as expDiff32 does: x is
// raised to the bound lo (in the register of the upper clamp, not needed
// as x ≤ m), s = x - m is split exactly as s + ds (TwoSum), s is clamped
// below, and ds is added to the reduced argument. The exponentials are
// stored and summed in float64 (two accumulators of 4 or 8 doubles).

// func expAVX2(dst, x *float32, n int)
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	LOAD_CONST_AVX2
	XORQ AX, AX

loop:
	VMOVUPS (SI)(AX*4), Y0
	EXP8(Y0, Y1, Y2)
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ    $8, AX
	CMPQ    AX, CX
	JB      loop
	VZEROUPPER
	RET

// func expAVX512(dst, x *float32, n int)
TEXT ·expAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	LOAD_CONST_AVX512
	XORQ AX, AX

loop:
	VMOVUPS (SI)(AX*4), Z0
	EXP16(Z0, Z1, Z2)
	VMOVUPS Z0, (DI)(AX*4)
	ADDQ    $16, AX
	CMPQ    AX, CX
	JB      loop
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	VMOVUPS (SI), Y0
	VMOVAPS Y0, Y1
	VMOVAPS Y0, Y2
	VMOVAPS Y0, Y3
	MOVQ    $8, AX
	MOVQ    CX, BX
	SUBQ    $32, BX

loop32:
	CMPQ   AX, BX
	JG     loop8
	VMAXPS (SI)(AX*4), Y0, Y0
	VMAXPS 32(SI)(AX*4), Y1, Y1
	VMAXPS 64(SI)(AX*4), Y2, Y2
	VMAXPS 96(SI)(AX*4), Y3, Y3
	ADDQ   $32, AX
	JMP    loop32

loop8:
	CMPQ   AX, CX
	JAE    reduce
	VMAXPS (SI)(AX*4), Y0, Y0
	ADDQ   $8, AX
	JMP    loop8

reduce:
	VMAXPS       Y1, Y0, Y0
	VMAXPS       Y3, Y2, Y2
	VMAXPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0x4e, X0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VMAXPS       X1, X0, X0
	VMOVSS       X0, ret+16(FP)
	VZEROUPPER
	RET

// func expShiftSumAVX2(x *float32, n int, shift, lo float32) float64
TEXT ·expShiftSumAVX2(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), DI
	MOVQ         n+8(FP), CX
	LOAD_CONST_AVX2
	VBROADCASTSS shift+16(FP), Y7
	VBROADCASTSS lo+20(FP), Y9
	VXORPD       Y5, Y5, Y5
	VXORPD       Y6, Y6, Y6
	XORQ         AX, AX

loop:
	VMOVUPS      (DI)(AX*4), Y0
	VMAXPS       Y0, Y9, Y0
	VSUBPS       Y7, Y0, Y1
	VSUBPS       Y0, Y1, Y2
	VSUBPS       Y2, Y1, Y3
	VSUBPS       Y3, Y0, Y3
	VADDPS       Y7, Y2, Y2
	VSUBPS       Y2, Y3, Y3
	VMAXPS       Y1, Y8, Y1
	REDUCE8(Y1, Y2)
	VADDPS       Y3, Y1, Y1
	POLY_SCALE8(Y1, Y2, Y0)
	VMOVUPS      Y1, (DI)(AX*4)
	VCVTPS2PD    X1, Y3
	VEXTRACTF128 $1, Y1, X4
	VCVTPS2PD    X4, Y4
	VADDPD       Y3, Y5, Y5
	VADDPD       Y4, Y6, Y6
	ADDQ         $8, AX
	CMPQ         AX, CX
	JB           loop

	VADDPD       Y6, Y5, Y5
	VEXTRACTF128 $1, Y5, X6
	VADDPD       X6, X5, X5
	VPERMILPD    $1, X5, X6
	VADDSD       X6, X5, X5
	VMOVSD       X5, ret+24(FP)
	VZEROUPPER
	RET

// func expShiftSumAVX512(x *float32, n int, shift, lo float32) float64
TEXT ·expShiftSumAVX512(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), DI
	MOVQ         n+8(FP), CX
	LOAD_CONST_AVX512
	VBROADCASTSS shift+16(FP), Z28
	VBROADCASTSS lo+20(FP), Z17
	VXORPD       Z5, Z5, Z5
	VXORPD       Z6, Z6, Z6
	XORQ         AX, AX

loop:
	VMOVUPS       (DI)(AX*4), Z0
	VMAXPS        Z0, Z17, Z0
	VSUBPS        Z28, Z0, Z1
	VSUBPS        Z0, Z1, Z2
	VSUBPS        Z2, Z1, Z3
	VSUBPS        Z3, Z0, Z3
	VADDPS        Z28, Z2, Z2
	VSUBPS        Z2, Z3, Z3
	VMAXPS        Z1, Z16, Z1
	REDUCE16(Z1, Z2)
	VADDPS        Z3, Z1, Z1
	POLY_SCALE16(Z1, Z2, Z0)
	VMOVUPS       Z1, (DI)(AX*4)
	VCVTPS2PD     Y1, Z3
	VEXTRACTF64X4 $1, Z1, Y4
	VCVTPS2PD     Y4, Z4
	VADDPD        Z3, Z5, Z5
	VADDPD        Z4, Z6, Z6
	ADDQ          $16, AX
	CMPQ          AX, CX
	JB            loop

	VADDPD        Z6, Z5, Z5
	VEXTRACTF64X4 $1, Z5, Y6
	VADDPD        Y6, Y5, Y5
	VEXTRACTF128  $1, Y5, X6
	VADDPD        X6, X5, X5
	VPERMILPD     $1, X5, X6
	VADDSD        X6, X5, X5
	VMOVSD        X5, ret+24(FP)
	VZEROUPPER
	RET

// SiLU·up: e = e^-|g| (never overflows), s = g < 0 ? e : 1,
// dst = g·s / (1+e) · up, in that order (as siluMul32).

// func siluMulAVX2(dst, gate, up *float32, n int)
TEXT ·siluMulAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n+24(FP), CX
	LOAD_CONST_AVX2
	XORQ AX, AX

loop:
	VMOVUPS   (SI)(AX*4), Y0
	VORPS     SIGN, Y0, Y1
	EXP8(Y1, Y2, Y3)
	VBLENDVPS Y0, Y1, Y15, Y4
	VADDPS    Y15, Y1, Y1
	VMULPS    Y0, Y4, Y4
	VDIVPS    Y1, Y4, Y4
	VMULPS    (DX)(AX*4), Y4, Y4
	VMOVUPS   Y4, (DI)(AX*4)
	ADDQ      $8, AX
	CMPQ      AX, CX
	JB        loop
	VZEROUPPER
	RET

// func siluMulAVX512(dst, gate, up *float32, n int)
TEXT ·siluMulAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n+24(FP), CX
	LOAD_CONST_AVX512
	XORQ AX, AX

loop:
	VMOVUPS  (SI)(AX*4), Z0
	VPORD    Z27, Z0, Z1
	EXP16(Z1, Z2, Z3)
	VPTESTMD Z27, Z0, K1
	VMOVAPS  Z26, Z4
	VMOVAPS  Z1, K1, Z4
	VADDPS   Z26, Z1, Z1
	VMULPS   Z0, Z4, Z4
	VDIVPS   Z1, Z4, Z4
	VMULPS   (DX)(AX*4), Z4, Z4
	VMOVUPS  Z4, (DI)(AX*4)
	ADDQ     $16, AX
	CMPQ     AX, CX
	JB       loop
	VZEROUPPER
	RET
