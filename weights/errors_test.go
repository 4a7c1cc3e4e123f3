package weights

import (
	"math"
	"strings"
	"testing"
)

// stEntry is a tensor header entry with the given dtype, shape and offsets.
func stEntry(name, dtype, shape, offsets string) string {
	return `"` + name + `":{"dtype":"` + dtype + `","shape":` + shape + `,"data_offsets":` + offsets + `}`
}

// errorCase is malformed input and a fragment its error must contain
// besides the "weights: <file>: " prefix.
type errorCase struct {
	name string
	data []byte
	want string
}

func safetensorsErrorCases() []errorCase {
	a := stEntry("a", "F32", "[2]", "[0,8]")
	return []errorCase{
		{"truncated length", []byte{1, 2, 3}, "shorter than the 8-byte header length"},
		{"truncated header", stFile(`{"a":1}`, nil)[:10], "header length 7 exceeds the 2 bytes"},
		{"oversized header length", append(le64(200_000_000), make([]byte, 16)...), "header length 200000000 exceeds the 100000000-byte limit"},
		{"header not an object", stFile(`["a"]`, nil), "header does not start with '{'"},
		{"empty header", stFile(``, nil), "header does not start with '{'"},
		{"invalid UTF-8", stFile("{\"a\xff\":{}}", nil), "header is not valid UTF-8"},
		{"invalid JSON", stFile(`{"a":`, nil), `header: tensor "a": EOF: unexpected end of JSON`},
		{"trailing data", stFile(`{} x`, nil), "header: data after the JSON object"},
		{"duplicate names", stFile("{"+a+","+a+"}", make([]byte, 8)), `duplicate key "a"`},
		{"metadata not string map", stFile(`{"__metadata__":{"k":1}}`, nil), "__metadata__ must map strings to strings"},
		{"entry not an object", stFile(`{"a":5}`, nil), `tensor "a": json: cannot unmarshal number`},
		{"unknown dtype", stFile("{"+stEntry("a", "F7", "[2]", "[0,8]")+"}", make([]byte, 8)), `tensor "a": unknown dtype "F7"`},
		{"missing dtype", stFile(`{"a":{"shape":[1],"data_offsets":[0,1]}}`, make([]byte, 1)), `tensor "a": missing dtype`},
		{"missing shape", stFile(`{"a":{"dtype":"U8","data_offsets":[0,1]}}`, make([]byte, 1)), `tensor "a": missing shape`},
		{"missing offsets", stFile(`{"a":{"dtype":"U8","shape":[1]}}`, make([]byte, 1)), `tensor "a": missing data_offsets`},
		{"three offsets", stFile("{"+stEntry("a", "U8", "[1]", "[0,1,2]")+"}", make([]byte, 1)), `tensor "a": data_offsets has 3 entries`},
		{"negative offset", stFile("{"+stEntry("a", "U8", "[1]", "[-1,0]")+"}", make([]byte, 1)), `tensor "a": json: cannot unmarshal number -1`},
		{"begin after end", stFile("{"+stEntry("a", "U8", "[0]", "[4,2]")+"}", make([]byte, 4)), `tensor "a": data_offsets [4,2]: begin after end`},
		{"end beyond buffer", stFile("{"+stEntry("a", "F32", "[2]", "[0,8]")+"}", make([]byte, 4)), `tensor "a": data_offsets [0,8]: end beyond the 4-byte data buffer`},
		{"negative dimension", stFile("{"+stEntry("a", "F32", "[-2]", "[0,8]")+"}", make([]byte, 8)), `tensor "a": shape [-2]: negative dimension`},
		{"shape overflow", stFile("{"+stEntry("a", "F32", "[4294967296,4294967296]", "[0,8]")+"}", make([]byte, 8)), `tensor "a": shape [4294967296 4294967296]: element count overflows`},
		{"shape/size mismatch", stFile("{"+stEntry("a", "F32", "[3]", "[0,8]")+"}", make([]byte, 8)), `tensor "a": shape [3] of F32 needs 12 bytes but data_offsets [0,8] span 8`},
		{"misaligned begin", stFile("{"+stEntry("u", "U8", "[2]", "[0,2]")+","+stEntry("f", "F32", "[1]", "[2,6]")+"}", make([]byte, 6)), `tensor "f": data_offsets [2,6]: begin not aligned to the 4-byte F32 element`},
		{"overlapping offsets", stFile("{"+a+","+stEntry("b", "F32", "[2]", "[4,12]")+"}", make([]byte, 12)), `tensor "b": data_offsets [4,12] overlap tensor "a" ending at 8`},
		{"gap in offsets", stFile("{"+a+","+stEntry("b", "F32", "[2]", "[12,20]")+"}", make([]byte, 20)), `tensor "b": data_offsets [12,20] leave a gap of 4 bytes after offset 8`},
		{"buffer not covered", stFile("{"+a+"}", make([]byte, 12)), "tensors cover 8 bytes but the data buffer has 12"},
	}
}

func TestSafetensorsErrorCatalog(t *testing.T) {
	const file = "bad.safetensors"
	for _, tc := range safetensorsErrorCases() {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSafetensors(file, tc.data)
			if err == nil {
				t.Fatal("parsed without error")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "weights: "+file+": ") || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q\nwant prefix %q and %q", msg, "weights: "+file+": ", tc.want)
			}
		})
	}
}

func ggufErrorCases() []errorCase {
	f32 := func(name string, ne, offset uint64) ggufTI { return ggufTI{name, []uint64{ne}, GGMLF32, offset} }
	data64 := make([]byte, 64)
	str := func(key, v string) ggufKV { return ggufKV{key, GGUFString, ggufStr(v)} }
	hugeString := append(append([]byte("GGUF"), le32(3)...), le64(0)...)
	hugeString = append(append(hugeString, le64(1)...), le64(1<<62)...)
	hugeString = append(hugeString, make([]byte, 16)...) // one KV whose key claims 2^62 bytes
	return []errorCase{
		{"empty file", nil, "magic: needs 4 bytes"},
		{"bad magic", append([]byte("GGUX"), le32(3)...), `magic "GGUX", want "GGUF"`},
		{"version 1", buildGGUF(1, nil, nil, 32, nil), "version 1 not supported"},
		{"version 4", buildGGUF(4, nil, nil, 32, nil), "version 4 not supported"},
		{"big-endian", append([]byte("GGUF"), 0, 0, 0, 3), "version 3 is big-endian"},
		{"truncated counts", append([]byte("GGUF"), le32(3)...), "tensor count: needs 8 bytes"},
		{"huge tensor count", append(append(append([]byte("GGUF"), le32(3)...), le64(1<<40)...), le64(0)...), "tensor count 1099511627776 cannot fit"},
		{"huge metadata count", append(append(append([]byte("GGUF"), le32(3)...), le64(0)...), le64(math.MaxUint64)...), "metadata count 18446744073709551615 cannot fit"},
		{"huge string length", hugeString, "metadata 0 key: string length 4611686018427387904"},
		{"huge array length", buildGGUF(3, []ggufKV{{"arr", GGUFArray, ggufArray(GGUFUint32, 1<<50)}}, nil, 32, nil), `metadata "arr": array count 1125899906842624 cannot fit`},
		{"truncated value", buildGGUF(3, []ggufKV{{"x", GGUFUint64, le32(1)}}, nil, 1, nil), `metadata "x": needs 8 bytes`},
		{"unknown value type", buildGGUF(3, []ggufKV{{"x", 13, le32(1)}}, nil, 32, nil), `metadata "x": unknown value type 13`},
		{"bad bool", buildGGUF(3, []ggufKV{{"b", GGUFBool, []byte{2}}}, nil, 32, nil), `metadata "b": bool byte 2`},
		{"arrays nested too deep", buildGGUF(3, []ggufKV{{"n", GGUFArray, nestedArrays(9)}}, nil, 32, nil), `metadata "n": array element 0: array element 0`},
		{"duplicate key", buildGGUF(3, []ggufKV{str("k", "a"), str("k", "b")}, nil, 32, nil), `metadata "k": duplicate key`},
		{"bad alignment", buildGGUF(3, []ggufKV{{"general.alignment", GGUFUint32, le32(3)}}, nil, 32, nil), `metadata "general.alignment": want a uint32 power of two`},
		{"too many dims", buildGGUF(3, nil, []ggufTI{{"t", []uint64{1, 1, 1, 1, 1}, GGMLF32, 0}}, 32, data64), `tensor "t": n_dims 5 exceeds 4`},
		{"unknown ggml type", buildGGUF(3, nil, []ggufTI{{"t", []uint64{4}, 99, 0}}, 32, data64), `tensor "t": unknown ggml type 99`},
		{"ne overflow", buildGGUF(3, nil, []ggufTI{{"t", []uint64{1 << 32, 1 << 32}, GGMLF32, 0}}, 32, data64), `tensor "t": ne [4294967296],4294967296: element count overflows`},
		{"size overflow", buildGGUF(3, nil, []ggufTI{{"t", []uint64{1 << 62}, GGMLF32, 0}}, 32, data64), `tensor "t": ne [4611686018427387904]: 4611686018427387904 elements of F32: size overflows`},
		{"partial block", buildGGUF(3, nil, []ggufTI{{"t", []uint64{16}, GGMLQ8_0, 0}}, 32, data64), `tensor "t": ne[0]=16 is not a multiple of the 32-element Q8_0 block`},
		{"misaligned offset", buildGGUF(3, nil, []ggufTI{f32("t", 4, 4)}, 32, data64), `tensor "t": offset 4 is not a multiple of the alignment 32`},
		{"duplicate tensor", buildGGUF(3, nil, []ggufTI{f32("t", 4, 0), f32("t", 4, 32)}, 32, data64), `tensor "t": duplicate name`},
		{"tensor out of bounds", buildGGUF(3, nil, []ggufTI{f32("t", 16, 32)}, 32, data64), `tensor "t": 64 bytes at data offset 32 run past the 64-byte data section`},
		{"tensor offset far out", buildGGUF(3, nil, []ggufTI{f32("t", 4, 1<<40)}, 32, data64), `tensor "t": 16 bytes at data offset 1099511627776 run past`},
		{"overlapping tensors", buildGGUF(3, nil, []ggufTI{f32("a", 16, 0), f32("b", 4, 32)}, 32, make([]byte, 96)), `tensor "b": data offset 32 overlaps tensor "a" ending at 64`},
		{"truncated tensor info", buildGGUF(3, nil, []ggufTI{f32("t", 4, 0)}, 1, nil)[:40], `tensor "t": ne[0]: needs 8 bytes at offset 37, file has 3 left`},
		{"no data section", buildGGUF(3, nil, []ggufTI{f32("t", 4, 0)}, 1, nil), `data section at offset 64 is past the end`},
	}
}

func TestGGUFErrorCatalog(t *testing.T) {
	const file = "bad.gguf"
	for _, tc := range ggufErrorCases() {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseGGUF(file, tc.data)
			if err == nil {
				t.Fatal("parsed without error")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "weights: "+file+": ") || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q\nwant prefix %q and %q", msg, "weights: "+file+": ", tc.want)
			}
		})
	}
}

// nestedArrays encodes depth arrays, each holding the next.
func nestedArrays(depth int) []byte {
	inner := ggufArray(GGUFUint8, 0)
	for range depth - 1 {
		inner = ggufArray(GGUFArray, 1, inner)
	}
	return inner
}
