package weights

import (
	"bytes"
	"encoding/binary"
	"math"
)

// Builders for small in-memory files used by the tests and fuzz seeds.

// stFile assembles a safetensors file from a raw JSON header and data.
func stFile(header string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
func ggufStr(s string) []byte {
	return append(le64(uint64(len(s))), s...)
}

type ggufKV struct {
	key   string
	typ   GGUFValueType
	value []byte // encoded value
}

type ggufTI struct {
	name   string
	ne     []uint64
	typ    GGMLType
	offset uint64
}

// buildGGUF writes a GGUF file: header, kvs, tensor infos, padding to
// align, then data.
func buildGGUF(version uint32, kvs []ggufKV, tis []ggufTI, align int, data []byte) []byte {
	b := []byte("GGUF")
	b = append(b, le32(version)...)
	b = append(b, le64(uint64(len(tis)))...)
	b = append(b, le64(uint64(len(kvs)))...)
	for _, kv := range kvs {
		b = append(b, ggufStr(kv.key)...)
		b = append(b, le32(uint32(kv.typ))...)
		b = append(b, kv.value...)
	}
	for _, ti := range tis {
		b = append(b, ggufStr(ti.name)...)
		b = append(b, le32(uint32(len(ti.ne)))...)
		for _, n := range ti.ne {
			b = append(b, le64(n)...)
		}
		b = append(b, le32(uint32(ti.typ))...)
		b = append(b, le64(ti.offset)...)
	}
	for len(b)%align != 0 {
		b = append(b, 0)
	}
	return append(b, data...)
}

// ggufArray encodes an array value of elem type with n pre-encoded elements.
func ggufArray(elem GGUFValueType, n int, elems ...[]byte) []byte {
	b := append(le32(uint32(elem)), le64(uint64(n))...)
	for _, e := range elems {
		b = append(b, e...)
	}
	return b
}

// validGGUF is a small file using every metadata value type, a nested
// array, an explicit alignment, and an F32 and a Q8_0 tensor.
func validGGUF() []byte {
	kvs := []ggufKV{
		{"general.architecture", GGUFString, ggufStr("test")},
		{"general.alignment", GGUFUint32, le32(64)},
		{"u8", GGUFUint8, []byte{200}},
		{"i8", GGUFInt8, []byte{0xFF}},
		{"u16", GGUFUint16, []byte{1, 2}},
		{"i16", GGUFInt16, []byte{0xFE, 0xFF}},
		{"i32", GGUFInt32, le32(uint32(0xFFFFFFFD))},
		{"f32", GGUFFloat32, le32(math.Float32bits(1.5))},
		{"bool", GGUFBool, []byte{1}},
		{"u64", GGUFUint64, le64(1 << 40)},
		{"i64", GGUFInt64, le64(uint64(math.MaxUint64))},
		{"f64", GGUFFloat64, le64(math.Float64bits(-2.25))},
		{"tokens", GGUFArray, ggufArray(GGUFString, 2, ggufStr("a"), ggufStr("bc"))},
		{"scores", GGUFArray, ggufArray(GGUFFloat32, 2, le32(math.Float32bits(0.5)), le32(math.Float32bits(-1)))},
		{"types", GGUFArray, ggufArray(GGUFInt32, 1, le32(7))},
		{"nested", GGUFArray, ggufArray(GGUFArray, 2, ggufArray(GGUFUint8, 2, []byte{1, 2}), ggufArray(GGUFBool, 1, []byte{0}))},
	}
	data := make([]byte, 128)
	for i := range 4 {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(float32(i+1)))
	}
	binary.LittleEndian.PutUint16(data[64:], 0x3C00) // Q8_0 d = 1.0
	for i := range 32 {
		data[66+i] = byte(int8(i - 16))
	}
	tis := []ggufTI{
		{"vec", []uint64{4}, GGMLF32, 0},
		{"q8", []uint64{32, 1}, GGMLQ8_0, 64},
	}
	return buildGGUF(3, kvs, tis, 64, data)
}

// validSafetensors is a small file with metadata and F32, BF16, U8 tensors.
func validSafetensors() []byte {
	var buf bytes.Buffer
	tensors := []Tensor{
		{Name: "w", DType: F32, Shape: []int{2, 2}, Data: le32s(1, 2, 3, 4)},
		{Name: "h", DType: BF16, Shape: []int{2}, Data: []byte{0x80, 0x3F, 0x00, 0xC0}}, // 1.0, -2.0
		{Name: "mask", DType: U8, Shape: []int{3}, Data: []byte{1, 0, 1}},
		{Name: "empty", DType: F32, Shape: []int{0, 5}, Data: nil},
	}
	if err := WriteSafetensors(&buf, tensors, map[string]string{"format": "pt"}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func le32s(vals ...float32) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}
