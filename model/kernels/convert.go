package kernels

import "math"

// BF16ToF32 widens bfloat16 bits to float32 (exact: a 16-bit shift).
func BF16ToF32(dst []float32, src []uint16) {
	checkLen("BF16ToF32", "dst", len(dst), len(src))
	done := bf16ToF32Arch(dst, src)
	for i := done; i < len(src); i++ {
		dst[i] = bf16ToF32(src[i])
	}
}

// F16ToF32 widens IEEE binary16 bits to float32 (exact, subnormals and
// Inf included; a NaN stays a NaN).
func F16ToF32(dst []float32, src []uint16) {
	checkLen("F16ToF32", "dst", len(dst), len(src))
	done := f16ToF32Arch(dst, src)
	for i := done; i < len(src); i++ {
		dst[i] = f16ToF32(src[i])
	}
}

// F32ToBF16 narrows float32 to bfloat16 bits, rounding to nearest even.
// Overflow gives ±Inf; a NaN stays a (quiet) NaN.
func F32ToBF16(dst []uint16, src []float32) {
	checkLen("F32ToBF16", "dst", len(dst), len(src))
	for i, f := range src {
		dst[i] = f32ToBF16(f)
	}
}

// F32ToF16 narrows float32 to IEEE binary16 bits, rounding to nearest even,
// producing subnormals below 2^-14 and ±Inf on overflow; a NaN stays a
// (quiet) NaN.
func F32ToF16(dst []uint16, src []float32) {
	checkLen("F32ToF16", "dst", len(dst), len(src))
	for i, f := range src {
		dst[i] = f32ToF16(f)
	}
}

func bf16ToF32(u uint16) float32 { return math.Float32frombits(uint32(u) << 16) }

func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // Inf or NaN: keep the payload, widen the exponent
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0: // normal: rebias 15 -> 127
		return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal man·2^-24: normalise so the leading one becomes implicit.
	e := uint32(127 - 15 + 1)
	for man&0x400 == 0 {
		man <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
}

func f32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN: truncate, force the quiet bit
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1 // round half to even; a carry may reach Inf
	return uint16(b >> 16)
}

func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00 | uint16(man>>13) // quiet NaN, top payload kept
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // binary16 biased exponent
	switch {
	case e >= 0x1f:
		return sign | 0x7c00
	case e < -10: // below half the smallest subnormal: rounds to zero
		return sign
	case e <= 0: // binary16 subnormal: mantissa in units of 2^-24
		m := man | 0x800000
		shift := uint(14 - e)
		q := m >> shift
		rem, half := m&(1<<shift-1), uint32(1)<<(shift-1)
		if rem > half || rem == half && q&1 == 1 {
			q++ // may carry into the smallest normal, which is encoded correctly
		}
		return sign | uint16(q)
	}
	q := uint32(e)<<10 | man>>13
	if rem := man & 0x1fff; rem > 0x1000 || rem == 0x1000 && q&1 == 1 {
		q++ // a carry out of the mantissa bumps the exponent, up to Inf
	}
	return sign | uint16(q)
}
