package weights

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Block layouts follow ggml (ggml-common.h); all scales are little-endian.
// "d" is a scale, "m"/"dmin" a minimum, "qs" packed quants, "qh" high bits.

// Dequantize converts the first n elements stored in data as typ into
// dst[:n]. n must be a multiple of typ's block size; data must hold at least
// n elements and dst at least n values. Supported: F32, F16, BF16, Q4_0,
// Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K.
func Dequantize(dst []float32, typ GGMLType, data []byte, n int) error {
	need, err := typ.RowBytes(n)
	if err != nil {
		return fmt.Errorf("weights: dequantize: %w", err)
	}
	if len(data) < need {
		return fmt.Errorf("weights: dequantize %d elements of %s: need %d bytes, have %d", n, typ, need, len(data))
	}
	if len(dst) < n {
		return fmt.Errorf("weights: dequantize %d elements of %s: dst has room for %d", n, typ, len(dst))
	}
	var block func(dst []float32, b []byte)
	switch typ {
	case GGMLF32:
		for i := range n {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		return nil
	case GGMLF16:
		for i := range n {
			dst[i] = f16ToFloat32(binary.LittleEndian.Uint16(data[2*i:]))
		}
		return nil
	case GGMLBF16:
		for i := range n {
			dst[i] = bf16ToFloat32(binary.LittleEndian.Uint16(data[2*i:]))
		}
		return nil
	case GGMLQ4_0:
		block = dequantQ4_0
	case GGMLQ4_1:
		block = dequantQ4_1
	case GGMLQ5_0:
		block = dequantQ5_0
	case GGMLQ5_1:
		block = dequantQ5_1
	case GGMLQ8_0:
		block = dequantQ8_0
	case GGMLQ2_K:
		block = dequantQ2_K
	case GGMLQ3_K:
		block = dequantQ3_K
	case GGMLQ4_K:
		block = dequantQ4_K
	case GGMLQ5_K:
		block = dequantQ5_K
	case GGMLQ6_K:
		block = dequantQ6_K
	case GGMLQ8_K:
		block = dequantQ8_K
	default:
		return fmt.Errorf("weights: dequantize: type %s not supported", typ)
	}
	bs, bb := typ.BlockSize(), typ.BlockBytes()
	for i := range n / bs {
		block(dst[i*bs:(i+1)*bs], data[i*bb:(i+1)*bb])
	}
	return nil
}

// half reads the f16 at b[off:off+2].
func half(b []byte, off int) float32 { return f16ToFloat32(binary.LittleEndian.Uint16(b[off:])) }

// Q4_0 (32 elements, 18 bytes): d f16, qs[16]. Element j is the low nibble
// of qs[j], element j+16 the high nibble; value = d*(q-8).
func dequantQ4_0(y []float32, b []byte) {
	d, qs := half(b, 0), b[2:18]
	for j := range 16 {
		y[j] = d * float32(int(qs[j]&0xF)-8)
		y[j+16] = d * float32(int(qs[j]>>4)-8)
	}
}

// Q4_1 (32 elements, 20 bytes): d f16, m f16, qs[16]; value = d*q + m.
func dequantQ4_1(y []float32, b []byte) {
	d, m, qs := half(b, 0), half(b, 2), b[4:20]
	for j := range 16 {
		y[j] = d*float32(qs[j]&0xF) + m
		y[j+16] = d*float32(qs[j]>>4) + m
	}
}

// Q5_0 (32 elements, 22 bytes): d f16, qh u32 (bit j is the fifth bit of
// element j), qs[16] as in Q4_0; value = d*(q-16).
func dequantQ5_0(y []float32, b []byte) {
	d, qh, qs := half(b, 0), binary.LittleEndian.Uint32(b[2:]), b[6:22]
	for j := range 16 {
		lo := int(qs[j]&0xF) | int(qh>>j&1)<<4
		hi := int(qs[j]>>4) | int(qh>>(j+16)&1)<<4
		y[j] = d * float32(lo-16)
		y[j+16] = d * float32(hi-16)
	}
}

// Q5_1 (32 elements, 24 bytes): d f16, m f16, qh u32, qs[16]; value = d*q + m.
func dequantQ5_1(y []float32, b []byte) {
	d, m, qh, qs := half(b, 0), half(b, 2), binary.LittleEndian.Uint32(b[4:]), b[8:24]
	for j := range 16 {
		lo := qs[j]&0xF | byte(qh>>j&1)<<4
		hi := qs[j]>>4 | byte(qh>>(j+16)&1)<<4
		y[j] = d*float32(lo) + m
		y[j+16] = d*float32(hi) + m
	}
}

// Q8_0 (32 elements, 34 bytes): d f16, qs[32] int8; value = d*q.
func dequantQ8_0(y []float32, b []byte) {
	d := half(b, 0)
	for j := range 32 {
		y[j] = d * float32(int8(b[2+j]))
	}
}

// Q2_K (256 elements, 84 bytes): scales[16], qs[64], d f16, dmin f16. Each
// of 16 groups of 16 has a 4-bit scale (low nibble) and 4-bit min (high
// nibble); quants are 2 bits, four per byte. value = d*sc*q - dmin*m.
func dequantQ2_K(y []float32, b []byte) {
	scales, qs := b[0:16], b[16:80]
	d, dmin := half(b, 80), half(b, 82)
	group := 0
	for half128 := range 2 { // two halves of 128 elements, 32 quant bytes each
		q := qs[32*half128 : 32*half128+32]
		for shift := uint(0); shift < 8; shift += 2 {
			for part := range 2 { // 16 elements from q[0:16], then q[16:32]
				sc := scales[group]
				group++
				dl, ml := d*float32(sc&0xF), dmin*float32(sc>>4)
				for l := range 16 {
					y[l] = dl*float32(q[16*part+l]>>shift&3) - ml
				}
				y = y[16:]
			}
		}
	}
}

// Q3_K (256 elements, 110 bytes): hmask[32], qs[64], scales[12], d f16.
// Quants are 2 low bits in qs plus a high bit in hmask (set means +0,
// clear means -4); 16 groups of 16 have 6-bit scales biased by 32.
func dequantQ3_K(y []float32, b []byte) {
	hmask, qs, packed := b[0:32], b[32:96], b[96:108]
	d := half(b, 108)
	// Scale i: low 4 bits from packed[i%8] (low nibble for i<8, high nibble
	// after), high 2 bits from packed[8+i%4] at bit 2*(i/4).
	var scale [16]float32
	for i := range 16 {
		lo := packed[i%8] & 0xF
		if i >= 8 {
			lo = packed[i%8] >> 4
		}
		hi := packed[8+i%4] >> (2 * (i / 4)) & 3
		scale[i] = d * float32(int(lo|hi<<4)-32)
	}
	group := 0
	mask := byte(1)
	for half128 := range 2 {
		q := qs[32*half128 : 32*half128+32]
		for shift := uint(0); shift < 8; shift += 2 {
			for part := range 2 {
				dl := scale[group]
				group++
				for l := range 16 {
					k := 16*part + l
					v := int(q[k] >> shift & 3)
					if hmask[k]&mask == 0 {
						v -= 4
					}
					y[l] = dl * float32(v)
				}
				y = y[16:]
			}
			mask <<= 1
		}
	}
}

// scaleMinK4 unpacks the j-th (0..7) 6-bit scale and min of the 12-byte
// scales field shared by Q4_K and Q5_K.
func scaleMinK4(j int, s []byte) (sc, m byte) {
	if j < 4 {
		return s[j] & 63, s[j+4] & 63
	}
	return s[j+4]&0xF | (s[j-4]>>6)<<4, s[j+4]>>4 | (s[j]>>6)<<4
}

// Q4_K (256 elements, 144 bytes): d f16, dmin f16, scales[12], qs[128].
// Eight groups of 32 with 6-bit scale and min; each 32-byte chunk of qs
// holds one group in its low nibbles and the next in its high nibbles.
// value = d*sc*q - dmin*m.
func dequantQ4_K(y []float32, b []byte) {
	d, dmin, scales, qs := half(b, 0), half(b, 2), b[4:16], b[16:144]
	for chunk := range 4 {
		q := qs[32*chunk : 32*chunk+32]
		sc1, m1 := scaleMinK4(2*chunk, scales)
		sc2, m2 := scaleMinK4(2*chunk+1, scales)
		d1, min1 := d*float32(sc1), dmin*float32(m1)
		d2, min2 := d*float32(sc2), dmin*float32(m2)
		for l := range 32 {
			y[l] = d1*float32(q[l]&0xF) - min1
			y[l+32] = d2*float32(q[l]>>4) - min2
		}
		y = y[64:]
	}
}

// Q5_K (256 elements, 176 bytes): d f16, dmin f16, scales[12], qh[32],
// qs[128]. As Q4_K plus a fifth bit: group g takes bit g of qh[l].
func dequantQ5_K(y []float32, b []byte) {
	d, dmin, scales, qh, qs := half(b, 0), half(b, 2), b[4:16], b[16:48], b[48:176]
	for chunk := range 4 {
		q := qs[32*chunk : 32*chunk+32]
		sc1, m1 := scaleMinK4(2*chunk, scales)
		sc2, m2 := scaleMinK4(2*chunk+1, scales)
		d1, min1 := d*float32(sc1), dmin*float32(m1)
		d2, min2 := d*float32(sc2), dmin*float32(m2)
		bit1, bit2 := uint(2*chunk), uint(2*chunk+1)
		for l := range 32 {
			y[l] = d1*float32(q[l]&0xF|(qh[l]>>bit1&1)<<4) - min1
			y[l+32] = d2*float32(q[l]>>4|(qh[l]>>bit2&1)<<4) - min2
		}
		y = y[64:]
	}
}

// Q6_K (256 elements, 210 bytes): ql[128] low 4 bits, qh[64] high 2 bits,
// scales[16] int8 (one per 16 elements), d f16; value = d*sc*(q-32).
func dequantQ6_K(y []float32, b []byte) {
	ql, qh, sc := b[0:128], b[128:192], b[192:208]
	d := half(b, 208)
	for h := range 2 { // halves of 128 elements: 64 ql bytes, 32 qh bytes, 8 scales
		l4, h2, s := ql[64*h:64*h+64], qh[32*h:32*h+32], sc[8*h:8*h+8]
		for l := range 32 {
			is := l / 16
			q1 := int(l4[l]&0xF|(h2[l]>>0&3)<<4) - 32
			q2 := int(l4[l+32]&0xF|(h2[l]>>2&3)<<4) - 32
			q3 := int(l4[l]>>4|(h2[l]>>4&3)<<4) - 32
			q4 := int(l4[l+32]>>4|(h2[l]>>6&3)<<4) - 32
			y[l] = d * float32(int8(s[is])) * float32(q1)
			y[l+32] = d * float32(int8(s[is+2])) * float32(q2)
			y[l+64] = d * float32(int8(s[is+4])) * float32(q3)
			y[l+96] = d * float32(int8(s[is+6])) * float32(q4)
		}
		y = y[128:]
	}
}

// Q8_K (256 elements, 292 bytes): d f32, qs[256] int8, bsums[16] int16
// (block sums, unused here); value = d*q.
func dequantQ8_K(y []float32, b []byte) {
	d := math.Float32frombits(binary.LittleEndian.Uint32(b))
	for j := range qk {
		y[j] = d * float32(int8(b[4+j]))
	}
}
