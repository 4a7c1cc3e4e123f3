package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// TestReadHFWrittenFile reads a file written by the Python safetensors
// package (testdata/gen_safetensors_golden.py) and checks the values the
// script's formulas give.
func TestReadHFWrittenFile(t *testing.T) {
	f, err := OpenSafetensors("testdata/hf_written.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wantNames := []string{"model.embed.weight", "model.flags", "model.ids", "model.norm.weight", "model.scalar"}
	if got := f.Names(); !reflect.DeepEqual(got, wantNames) {
		t.Errorf("Names() = %v, want %v", got, wantNames)
	}
	if got, want := f.Metadata(), map[string]string{"format": "np", "note": "golden"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Metadata() = %v, want %v", got, want)
	}

	embed, err := f.Tensor("model.embed.weight")
	if err != nil {
		t.Fatal(err)
	}
	if embed.DType != F32 || !reflect.DeepEqual(embed.Shape, []int{3, 4}) || embed.NumElements() != 12 {
		t.Errorf("embed: %s %v", embed.DType, embed.Shape)
	}
	vals, err := embed.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vals {
		if want := float32(i)*0.25 - 1; v != want {
			t.Errorf("embed[%d] = %v, want %v", i, v, want)
		}
	}
	if unsafe.SliceData(vals) != (*float32)(unsafe.Pointer(unsafe.SliceData(embed.Data))) && uintptr(unsafe.Pointer(&embed.Data[0]))%4 == 0 {
		t.Errorf("Float32s copied an aligned F32 tensor instead of returning a view")
	}

	norm, _ := f.Tensor("model.norm.weight")
	got := make([]float32, norm.NumElements())
	if err := norm.ToFloat32(got); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if want := float32(i) - 2.5; v != want {
			t.Errorf("norm[%d] = %v, want %v", i, v, want)
		}
	}
	bits16, err := norm.Uint16s()
	if err != nil || len(bits16) != 6 || bits16[0] != 0xC100 { // -2.5 in IEEE half
		t.Errorf("Uint16s() = %#x, %v", bits16, err)
	}

	ids, _ := f.Tensor("model.ids")
	for i := range 5 {
		if v := int64(binary.LittleEndian.Uint64(ids.Data[8*i:])); v != int64(i)*1000-2000 {
			t.Errorf("ids[%d] = %d", i, v)
		}
	}
	flags, _ := f.Tensor("model.flags")
	if flags.DType != Bool || !bytes.Equal(flags.Data, []byte{1, 0, 1}) {
		t.Errorf("flags = %s %v", flags.DType, flags.Data)
	}
	scalar, _ := f.Tensor("model.scalar")
	if len(scalar.Shape) != 0 || scalar.NumElements() != 1 || math.Float64frombits(binary.LittleEndian.Uint64(scalar.Data)) != 7 {
		t.Errorf("scalar = %v %v", scalar.Shape, scalar.Data)
	}
}

func TestWriteSafetensorsRoundTrip(t *testing.T) {
	tensors := []Tensor{
		{Name: "a.f64", DType: F64, Shape: []int{2}, Data: make([]byte, 16)},
		{Name: "b.f32", DType: F32, Shape: []int{1, 3}, Data: le32s(1.5, -2, 3e-8)},
		{Name: "c.bf16", DType: BF16, Shape: []int{2}, Data: []byte{0x80, 0x3F, 0x00, 0xC0}},
		{Name: "d.f16", DType: F16, Shape: []int{3}, Data: []byte{0x00, 0x3C, 0xFF, 0x7B, 0x01, 0x00}},
		{Name: "e.scalar", DType: I8, Shape: []int{}, Data: []byte{0xFF}},
		{Name: "f.empty", DType: U8, Shape: []int{0}, Data: nil},
		{Name: `g "quoted" \ name`, DType: Bool, Shape: []int{2}, Data: []byte{1, 0}},
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, tensors, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	headerLen := binary.LittleEndian.Uint64(buf.Bytes())
	if headerLen%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", headerLen)
	}
	path := filepath.Join(t.TempDir(), "rt.safetensors")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Metadata(); !reflect.DeepEqual(got, map[string]string{"k": "v"}) {
		t.Errorf("metadata %v", got)
	}
	for _, want := range tensors {
		got, err := f.Tensor(want.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got.DType != want.DType || !reflect.DeepEqual(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("%q: got %s %v %v, want %s %v %v", want.Name, got.DType, got.Shape, got.Data, want.DType, want.Shape, want.Data)
		}
	}
	// Tensors are packed in the given order right after the header.
	inMemory, err := ParseSafetensors("rt", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	offset := 8 + int(headerLen)
	for _, want := range tensors {
		got, _ := inMemory.Tensor(want.Name)
		if len(got.Data) > 0 {
			if at := int(uintptr(unsafe.Pointer(&got.Data[0])) - uintptr(unsafe.Pointer(&buf.Bytes()[0]))); at != offset {
				t.Errorf("%q at file offset %d, want %d", want.Name, at, offset)
			}
		}
		offset += len(want.Data)
	}

	conv := func(name string) []float32 {
		tn, _ := f.Tensor(name)
		out := make([]float32, tn.NumElements())
		if err := tn.ToFloat32(out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// IEEE 754 facts: half 0x3C00 = 1, 0x7BFF = 65504 (max), 0x0001 = 2^-24.
	if got, want := conv("d.f16"), []float32{1, 65504, 0x1p-24}; !reflect.DeepEqual(got, want) {
		t.Errorf("F16 → %v, want %v", got, want)
	}
	if got, want := conv("c.bf16"), []float32{1, -2}; !reflect.DeepEqual(got, want) {
		t.Errorf("BF16 → %v, want %v", got, want)
	}
	if got, want := conv("b.f32"), []float32{1.5, -2, 3e-8}; !reflect.DeepEqual(got, want) {
		t.Errorf("F32 → %v, want %v", got, want)
	}
}

func TestWriteSafetensorsErrors(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
		wantErr string
	}{
		{"misaligned", []Tensor{{Name: "u", DType: U8, Shape: []int{1}, Data: []byte{1}}, {Name: "f", DType: F32, Shape: []int{1}, Data: le32s(1)}}, `tensor "f": would start at offset 1`},
		{"size mismatch", []Tensor{{Name: "f", DType: F32, Shape: []int{2}, Data: le32s(1)}}, `tensor "f": shape [2] of F32 needs 8 bytes`},
		{"duplicate", []Tensor{{Name: "f", DType: U8, Shape: []int{0}}, {Name: "f", DType: U8, Shape: []int{0}}}, `tensor "f": duplicate`},
		{"unknown dtype", []Tensor{{Name: "f", DType: "F7", Shape: []int{0}}}, `tensor "f": unknown dtype "F7"`},
		{"reserved name", []Tensor{{Name: "__metadata__", DType: U8, Shape: []int{0}}}, `invalid name "__metadata__"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := WriteSafetensors(&bytes.Buffer{}, tc.tensors, nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestTensorViewsAndCopies(t *testing.T) {
	backing := make([]byte, 4*5)
	copy(backing[1:], le32s(1, 2, 3, 4))
	aligned := Tensor{Name: "a", DType: F32, Shape: []int{4}, Data: backing[4:20]}
	misaligned := Tensor{Name: "m", DType: F32, Shape: []int{4}, Data: backing[1:17]}
	copy(backing[4:], le32s(1, 2, 3, 4)) // aligned now holds 1..4; misaligned bytes change too
	got, err := aligned.Float32s()
	if err != nil || !reflect.DeepEqual(got, []float32{1, 2, 3, 4}) {
		t.Fatalf("aligned Float32s = %v, %v", got, err)
	}
	if &got[0] != (*float32)(unsafe.Pointer(&backing[4])) {
		t.Error("aligned Float32s is not a view")
	}
	copy(backing[1:], le32s(5, 6, 7, 8))
	got, err = misaligned.Float32s()
	if err != nil || !reflect.DeepEqual(got, []float32{5, 6, 7, 8}) {
		t.Fatalf("misaligned Float32s = %v, %v", got, err)
	}
	odd := Tensor{Name: "h", DType: BF16, Shape: []int{2}, Data: backing[1:5]}
	u, err := odd.Uint16s()
	if err != nil || len(u) != 2 || u[0] != binary.LittleEndian.Uint16(backing[1:]) {
		t.Errorf("misaligned Uint16s = %v, %v", u, err)
	}
	if _, err := (Tensor{Name: "x", DType: I32}).Float32s(); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("Float32s on I32: %v", err)
	}
	if err := (Tensor{Name: "x", DType: F32, Shape: []int{2}, Data: le32s(1, 2)}).ToFloat32(make([]float32, 3)); err == nil {
		t.Error("ToFloat32 with a wrong-size dst succeeded")
	}
}

func TestMissingTensor(t *testing.T) {
	f, err := ParseSafetensors("tiny.safetensors", validSafetensors())
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Tensor("nope")
	if !errors.Is(err, ErrMissingTensor) || !strings.Contains(err.Error(), "tiny.safetensors") || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("err = %v", err)
	}
	g, err := ParseGGUF("tiny.gguf", validGGUF())
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = g.TensorData("nope")
	if !errors.Is(err, ErrMissingTensor) || !strings.Contains(err.Error(), "tiny.gguf") || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("err = %v", err)
	}
}
