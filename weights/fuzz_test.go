package weights

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"unsafe"
)

var writeFuzzSeeds = flag.Bool("write-fuzz-seeds", false, "rewrite the seed files in testdata/fuzz/")

// fuzzSeeds returns named seed inputs: a valid file, some of its prefixes,
// and the error-catalog cases.
func fuzzSeeds(valid []byte, bad []errorCase) map[string][]byte {
	seeds := map[string][]byte{"valid": valid}
	for _, n := range []int{0, 4, 8, 16, 24, len(valid) / 3, len(valid) / 2, len(valid) - 1} {
		seeds[fmt.Sprintf("truncated-%d", n)] = valid[:n]
	}
	for _, c := range bad {
		seeds["bad-"+strings.NewReplacer(" ", "-", "/", "-").Replace(c.name)] = c.data
	}
	return seeds
}

func safetensorsSeeds(t testing.TB) map[string][]byte {
	seeds := fuzzSeeds(validSafetensors(), safetensorsErrorCases())
	hf, err := os.ReadFile("testdata/hf_written.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	seeds["hf-written"] = hf
	return seeds
}

// TestWriteFuzzSeeds regenerates testdata/fuzz/Fuzz*/seed-* when run with
// -write-fuzz-seeds. Crashers found by fuzzing live beside them and are kept.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeFuzzSeeds {
		t.Skip("run with -write-fuzz-seeds to regenerate the seed corpus")
	}
	for target, seeds := range map[string]map[string][]byte{
		"FuzzSafetensors": safetensorsSeeds(t),
		"FuzzGGUF":        fuzzSeeds(validGGUF(), ggufErrorCases()),
	} {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range seeds {
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
			if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// FuzzSafetensors checks that any input either fails with a prefixed error
// or yields tensors whose views are consistent and which survive a
// write/parse round trip.
func FuzzSafetensors(f *testing.F) {
	for _, data := range safetensorsSeeds(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.safetensors"
		st, err := ParseSafetensors(name, data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "weights: "+name+": ") {
				t.Fatalf("error without file prefix: %v", err)
			}
			return
		}
		var tensors []Tensor
		for _, n := range st.Names() {
			tn, err := st.Tensor(n)
			if err != nil {
				t.Fatal(err)
			}
			if len(tn.Data) != tn.NumElements()*tn.DType.Size() {
				t.Fatalf("tensor %q: %d bytes for shape %v of %s", n, len(tn.Data), tn.Shape, tn.DType)
			}
			switch tn.DType {
			case F32, F16, BF16:
				if err := tn.ToFloat32(make([]float32, tn.NumElements())); err != nil {
					t.Fatal(err)
				}
			}
			if tn.DType == F32 {
				if _, err := tn.Float32s(); err != nil {
					t.Fatal(err)
				}
			}
			tensors = append(tensors, tn)
		}
		// Writing the tensors in data order reproduces a valid file.
		addr := func(tn Tensor) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(tn.Data))) }
		sort.SliceStable(tensors, func(i, j int) bool {
			if addr(tensors[i]) != addr(tensors[j]) {
				return addr(tensors[i]) < addr(tensors[j])
			}
			return len(tensors[i].Data) < len(tensors[j].Data)
		})
		var buf bytes.Buffer
		if err := WriteSafetensors(&buf, tensors, st.Metadata()); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		again, err := ParseSafetensors("rewritten", buf.Bytes())
		if err != nil {
			t.Fatalf("reparse: %v", err)
		}
		if !reflect.DeepEqual(again.Names(), st.Names()) || !reflect.DeepEqual(again.Metadata(), st.Metadata()) {
			t.Fatalf("round trip changed names or metadata")
		}
		for _, want := range tensors {
			got, _ := again.Tensor(want.Name)
			if got.DType != want.DType || !reflect.DeepEqual(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
				t.Fatalf("round trip changed tensor %q", want.Name)
			}
		}
	})
}

// FuzzGGUF checks that any input either fails with a prefixed error or
// yields metadata and tensors every accessor can read without panicking.
func FuzzGGUF(f *testing.F) {
	for _, data := range fuzzSeeds(validGGUF(), ggufErrorCases()) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.gguf"
		g, err := ParseGGUF(name, data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "weights: "+name+": ") {
				t.Fatalf("error without file prefix: %v", err)
			}
			return
		}
		for _, key := range g.Keys() {
			g.String(key)
			g.Uint(key)
			g.Float(key)
			g.Strings(key)
			g.Float32s(key)
			g.Int32s(key)
		}
		for _, ti := range g.Tensors() {
			raw, info, err := g.TensorData(ti.Name)
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) != ti.Size || info.Offset != ti.Offset {
				t.Fatalf("tensor %q: %d bytes, info says %d", ti.Name, len(raw), ti.Size)
			}
			if n := ti.NumElements(); n <= 1<<16 {
				// Unsupported types are an error; supported ones must succeed.
				err := Dequantize(make([]float32, n), ti.Type, raw, n)
				if err != nil && !strings.Contains(err.Error(), "not supported") {
					t.Fatalf("tensor %q: %v", ti.Name, err)
				}
			}
		}
	})
}
