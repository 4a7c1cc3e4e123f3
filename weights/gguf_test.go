package weights

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"starc/internal/testenv"
	"strconv"
	"strings"
	"testing"
)

// sharedDir returns ../shared beside the repository (see testenv.Shared).
func sharedDir(t *testing.T) string { return testenv.Shared(t, ".") }

// storiesGolden is the "model" section of shared/golden/stories260K.json,
// read from the file by a tool independent of this package.
type storiesGolden struct {
	Model struct {
		Bytes       int64                      `json:"bytes"`
		GGUFVersion uint32                     `json:"gguf_version"`
		NKV         int                        `json:"n_kv"`
		NTensors    int                        `json:"n_tensors"`
		DataOffset  int                        `json:"data_offset"`
		Metadata    map[string]json.RawMessage `json:"metadata"`
		ValueTypes  map[string]any             `json:"kv_value_types"`
		Tensors     []goldenTensor             `json:"tensors"`
		Vocab       struct {
			Tokens    []string  `json:"tokens"`
			Scores    []float32 `json:"scores"`
			TokenType []int32   `json:"token_type"`
		} `json:"vocab"`
	} `json:"model"`
}

type goldenTensor struct {
	Name   string    `json:"name"`
	Ne     []int     `json:"ne"`
	Type   string    `json:"type"`
	Offset uint64    `json:"offset"`
	First4 []float32 `json:"first4"`
	Sum    float64   `json:"sum"`
	SHA256 string    `json:"sha256"`
}

func TestStories260KMatchesGolden(t *testing.T) {
	shared := sharedDir(t)
	raw, err := os.ReadFile(filepath.Join(shared, "golden", "stories260K.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g storiesGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	want := g.Model
	f, err := OpenGGUF(filepath.Join(shared, "models", "stories260K", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	if f.Version != want.GGUFVersion || f.DataOffset != want.DataOffset || f.Alignment != 32 {
		t.Errorf("version %d, data offset %d, alignment %d; want %d, %d, 32", f.Version, f.DataOffset, f.Alignment, want.GGUFVersion, want.DataOffset)
	}
	if len(f.Keys()) != want.NKV {
		t.Errorf("%d metadata keys, want %d", len(f.Keys()), want.NKV)
	}

	// Value types: an integer type id, or "arr[N]" for an array of type N.
	for key, wt := range want.ValueTypes {
		v, ok := f.Metadata(key)
		if !ok {
			t.Errorf("metadata %q missing", key)
			continue
		}
		got := any(float64(v.Type))
		if v.Type == GGUFArray {
			got = "arr[" + strconv.Itoa(int(v.Elem)) + "]"
		}
		if got != wt {
			t.Errorf("metadata %q: type %v, want %v", key, got, wt)
		}
	}
	for key, wraw := range want.Metadata {
		v, _ := f.Metadata(key)
		var got any
		switch x := v.Value.(type) {
		case string:
			got = x
		case uint32:
			got = float64(x)
		case float32:
			got = float64(x)
		default:
			t.Errorf("metadata %q: unexpected Go type %T", key, v.Value)
			continue
		}
		var w any
		if err := json.Unmarshal(wraw, &w); err != nil {
			t.Fatal(err)
		}
		if got != w {
			t.Errorf("metadata %q = %v, want %v", key, got, w)
		}
	}
	if s, err := f.String("general.architecture"); err != nil || s != "llama" {
		t.Errorf(`String("general.architecture") = %q, %v`, s, err)
	}
	if n, err := f.Uint("llama.block_count"); err != nil || n != 5 {
		t.Errorf(`Uint("llama.block_count") = %d, %v`, n, err)
	}
	if eps, err := f.Float("llama.attention.layer_norm_rms_epsilon"); err != nil || float32(eps) != float32(1e-5) {
		t.Errorf("rms eps = %v, %v", eps, err)
	}
	tokens, err := f.Strings("tokenizer.ggml.tokens")
	if err != nil || !reflect.DeepEqual(tokens, want.Vocab.Tokens) {
		t.Errorf("tokens differ from golden (%d vs %d), err %v", len(tokens), len(want.Vocab.Tokens), err)
	}
	scores, err := f.Float32s("tokenizer.ggml.scores")
	if err != nil || !reflect.DeepEqual(scores, want.Vocab.Scores) {
		t.Errorf("scores differ from golden, err %v", err)
	}
	types, err := f.Int32s("tokenizer.ggml.token_type")
	if err != nil || !reflect.DeepEqual(types, want.Vocab.TokenType) {
		t.Errorf("token types differ from golden, err %v", err)
	}

	infos := f.Tensors()
	if len(infos) != want.NTensors || len(want.Tensors) != 48 {
		t.Fatalf("%d tensors, golden says %d (and lists %d, want 48)", len(infos), want.NTensors, len(want.Tensors))
	}
	for i, wt := range want.Tensors {
		got := infos[i]
		if got.Name != wt.Name || !reflect.DeepEqual(got.Ne, wt.Ne) || got.Type.String() != wt.Type || got.Offset != wt.Offset {
			t.Errorf("tensor %d: got %s %v %s @%d, want %s %v %s @%d", i, got.Name, got.Ne, got.Type, got.Offset, wt.Name, wt.Ne, wt.Type, wt.Offset)
			continue
		}
		data, _, err := f.TensorData(wt.Name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != wt.SHA256 {
			t.Errorf("tensor %s: sha256 differs from golden", wt.Name)
		}
		vals := make([]float32, got.NumElements())
		if err := Dequantize(vals, got.Type, data, len(vals)); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(vals[:4], wt.First4) {
			t.Errorf("tensor %s: first4 %v, want %v", wt.Name, vals[:4], wt.First4)
		}
		var s float64
		for _, v := range vals {
			s += float64(v)
		}
		if math.Abs(s-wt.Sum) > 1e-6*math.Max(1, math.Abs(wt.Sum)) {
			t.Errorf("tensor %s: sum %v, want %v", wt.Name, s, wt.Sum)
		}
	}
}

// TestSmolLM2Q41MatchesGGUFPy checks the real SmolLM2 Q4_1 file against
// testdata/smollm2_q41_golden.json, written by gguf-py's reader and
// dequantizer. The model file comes from scripts/setup-model.sh.
func TestSmolLM2Q41MatchesGGUFPy(t *testing.T) {
	if testing.Short() {
		t.Skip("heavy: maps a 98 MB file")
	}
	path := testenv.DefaultGGUF(t)
	raw, err := os.ReadFile("testdata/smollm2_q41_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Tensors []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Ne         []int  `json:"ne"`
			FileOffset int    `json:"file_offset"`
		} `json:"tensors"`
		Metadata map[string]any `json:"metadata"`
		NTokens  int            `json:"n_tokens"`
		Rows     []struct {
			Name string `json:"name"`
			Rows []int  `json:"rows"`
			Want []byte `json:"want"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	f, err := OpenGGUF(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	infos := f.Tensors()
	counts := map[GGMLType]int{}
	for _, ti := range infos {
		counts[ti.Type]++
	}
	if wantCounts := map[GGMLType]int{GGMLQ4_1: 210, GGMLF32: 61, GGMLQ8_0: 1}; len(infos) != 272 || !reflect.DeepEqual(counts, wantCounts) {
		t.Errorf("%d tensors with types %v, want 272 with %v", len(infos), counts, wantCounts)
	}
	if len(want.Tensors) != len(infos) {
		t.Fatalf("%d tensors, gguf-py saw %d", len(infos), len(want.Tensors))
	}
	for i, w := range want.Tensors {
		got := infos[i]
		if got.Name != w.Name || got.Type.String() != w.Type || !reflect.DeepEqual(got.Ne, w.Ne) || f.DataOffset+int(got.Offset) != w.FileOffset {
			t.Errorf("tensor %d: %s %s %v @%d, gguf-py %s %s %v @%d", i, got.Name, got.Type, got.Ne, f.DataOffset+int(got.Offset), w.Name, w.Type, w.Ne, w.FileOffset)
		}
	}
	for key, w := range want.Metadata {
		var got any
		var err error
		switch w.(type) {
		case string:
			got, err = f.String(key)
		default:
			if v, _ := f.Metadata(key); v.Type == GGUFFloat32 || v.Type == GGUFFloat64 {
				got, err = f.Float(key)
			} else {
				var u uint64
				u, err = f.Uint(key)
				got = float64(u)
			}
		}
		if err != nil || got != w {
			t.Errorf("metadata %q = %v (%v), gguf-py %v", key, got, err, w)
		}
	}
	if tokens, err := f.Strings("tokenizer.ggml.tokens"); err != nil || len(tokens) != want.NTokens {
		t.Errorf("tokens: %d, %v; gguf-py %d", len(tokens), err, want.NTokens)
	}

	for _, w := range want.Rows {
		data, ti, err := f.TensorData(w.Name)
		if err != nil {
			t.Fatal(err)
		}
		cols := ti.Ne[0]
		rowBytes, _ := ti.Type.RowBytes(cols)
		for k, r := range w.Rows {
			got := make([]float32, cols)
			if err := Dequantize(got, ti.Type, data[r*rowBytes:], cols); err != nil {
				t.Fatal(err)
			}
			for c := range cols {
				wv := math.Float32frombits(binary.LittleEndian.Uint32(w.Want[4*(k*cols+c):]))
				if math.Abs(float64(got[c]-wv)) > 1e-6*math.Max(1, math.Abs(float64(wv))) {
					t.Fatalf("%s row %d col %d: %v, gguf-py %v", w.Name, r, c, got[c], wv)
				}
			}
		}
	}
}

func TestParseGGUFAllValueTypes(t *testing.T) {
	f, err := ParseGGUF("small.gguf", validGGUF())
	if err != nil {
		t.Fatal(err)
	}
	if f.Alignment != 64 || f.DataOffset%64 != 0 {
		t.Errorf("alignment %d, data offset %d", f.Alignment, f.DataOffset)
	}
	scalars := map[string]any{
		"general.architecture": "test", "general.alignment": uint32(64),
		"u8": uint8(200), "i8": int8(-1), "u16": uint16(0x0201), "i16": int16(-2), "i32": int32(-3),
		"f32": float32(1.5), "bool": true, "u64": uint64(1 << 40), "i64": int64(-1), "f64": -2.25,
	}
	for key, want := range scalars {
		if v, ok := f.Metadata(key); !ok || v.Value != want {
			t.Errorf("metadata %q = %#v, want %#v", key, v.Value, want)
		}
	}
	nested, _ := f.Metadata("nested")
	wantNested := GGUFValue{Type: GGUFArray, Elem: GGUFArray, Value: []GGUFValue{
		{Type: GGUFArray, Elem: GGUFUint8, Value: []uint8{1, 2}},
		{Type: GGUFArray, Elem: GGUFBool, Value: []bool{false}},
	}}
	if !reflect.DeepEqual(nested, wantNested) {
		t.Errorf("nested = %#v", nested)
	}
	if got, err := f.Strings("tokens"); err != nil || !reflect.DeepEqual(got, []string{"a", "bc"}) {
		t.Errorf("Strings = %v, %v", got, err)
	}
	if got, err := f.Float32s("scores"); err != nil || !reflect.DeepEqual(got, []float32{0.5, -1}) {
		t.Errorf("Float32s = %v, %v", got, err)
	}
	if got, err := f.Int32s("types"); err != nil || !reflect.DeepEqual(got, []int32{7}) {
		t.Errorf("Int32s = %v, %v", got, err)
	}
	if got, err := f.Uint("u16"); err != nil || got != 0x0201 {
		t.Errorf("Uint(u16) = %v, %v", got, err)
	}
	if got, err := f.Float("f32"); err != nil || got != 1.5 {
		t.Errorf("Float(f32) = %v, %v", got, err)
	}

	accessorErrors := []struct {
		name string
		call func() error
		want string
	}{
		{"missing key", func() error { _, err := f.String("nope"); return err }, `small.gguf: metadata "nope": metadata key not found`},
		{"string of int", func() error { _, err := f.String("u8"); return err }, `small.gguf: metadata "u8": is uint8, want string`},
		{"uint of negative", func() error { _, err := f.Uint("i8"); return err }, `small.gguf: metadata "i8": negative value -1`},
		{"uint of float", func() error { _, err := f.Uint("f32"); return err }, `small.gguf: metadata "f32": is float32, want an unsigned integer`},
		{"float of string", func() error { _, err := f.Float("general.architecture"); return err }, `is string, want a float`},
		{"strings of float array", func() error { _, err := f.Strings("scores"); return err }, `metadata "scores": is array of float32, want array of string`},
	}
	for _, tc := range accessorErrors {
		if err := tc.call(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := f.String("nope"); !errors.Is(err, ErrMissingKey) {
		t.Errorf("missing key error does not wrap ErrMissingKey: %v", err)
	}

	infos := f.Tensors()
	if len(infos) != 2 || infos[1].Name != "q8" || !reflect.DeepEqual(infos[1].Ne, []int{32, 1}) || infos[1].Size != 34 {
		t.Fatalf("tensors = %+v", infos)
	}
	data, ti, err := f.TensorData("q8")
	if err != nil || len(data) != 34 || ti.Type != GGMLQ8_0 {
		t.Fatalf("TensorData(q8) = %d bytes, %+v, %v", len(data), ti, err)
	}
	vals := make([]float32, 32)
	if err := Dequantize(vals, ti.Type, data, 32); err != nil {
		t.Fatal(err)
	}
	for i, v := range vals {
		if v != float32(i-16) {
			t.Fatalf("q8[%d] = %v, want %v", i, v, i-16)
		}
	}
}
