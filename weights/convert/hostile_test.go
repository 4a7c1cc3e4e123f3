package convert

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"starc/internal/testenv"
	"starc/weights"
)

// storiesGGUF returns the bytes of the shared stories260K GGUF.
func storiesGGUF(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(testenv.Shared(t, "models/stories260K/stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// zeroDim patches the GGUF tensor info of name so its last dimension is 0.
// A tensor info is: name length (u64), name, n_dims (u32), ne (u64 each), ...
func zeroDim(t *testing.T, gguf []byte, name string) []byte {
	t.Helper()
	key := binary.LittleEndian.AppendUint64(nil, uint64(len(name)))
	key = append(key, name...)
	i := bytes.Index(gguf, key)
	if i < 0 {
		t.Fatalf("tensor info %q not found", name)
	}
	out := bytes.Clone(gguf)
	p := i + len(key)
	nDims := int(binary.LittleEndian.Uint32(out[p:]))
	binary.LittleEndian.PutUint64(out[p+4+8*(nDims-1):], 0)
	return out
}

// noTensors sets the GGUF header's tensor count (bytes 8..15) to 0.
func noTensors(gguf []byte) []byte {
	out := bytes.Clone(gguf)
	binary.LittleEndian.PutUint64(out[8:], 0)
	return out
}

// setArch replaces the 5-byte value of general.architecture ("llama" in the
// stories260K file) with arch, which must also be 5 bytes. The KV entry is:
// key length (u64), key, value type (u32, 8 = string), value length (u64), value.
func setArch(t *testing.T, gguf []byte, arch string) []byte {
	t.Helper()
	const key = "general.architecture"
	entry := binary.LittleEndian.AppendUint64(nil, uint64(len(key)))
	entry = append(entry, key...)
	entry = binary.LittleEndian.AppendUint32(entry, 8)
	entry = binary.LittleEndian.AppendUint64(entry, 5)
	entry = append(entry, "llama"...)
	i := bytes.Index(gguf, entry)
	if i < 0 || len(arch) != 5 {
		t.Fatalf("general.architecture = \"llama\" not found, or %q is not 5 bytes", arch)
	}
	out := bytes.Clone(gguf)
	copy(out[i+len(entry)-5:], arch)
	return out
}

// leftovers lists what Convert left in dir besides the input.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Name() != "in.gguf" {
			out = append(out, e.Name())
		}
	}
	return out
}

// A model that could not load is refused before anything is written.
func TestConvertValidatesBeforeWriting(t *testing.T) {
	orig := storiesGGUF(t)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"no tensors", noTensors(orig), "the file holds no tensors"},
		{"zero-sized dimension", zeroDim(t, orig, "blk.0.ffn_up.weight"), `tensor "blk.0.ffn_up.weight" has a zero-sized dimension`},
		{"unsupported architecture", setArch(t, orig, "gemma"), `general.architecture "gemma" is not supported (want "llama" or "qwen2")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.gguf")
			if err := os.WriteFile(in, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			// The patched file must still parse: the refusal is Convert's.
			g, err := weights.OpenGGUF(in)
			if err != nil {
				t.Fatalf("patched GGUF does not parse: %v", err)
			}
			g.Close()
			_, err = Convert(context.Background(), in, filepath.Join(dir, "out"), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), in) {
				t.Fatalf("err = %v, want one naming %s and containing %q", err, in, tc.want)
			}
			if left := leftovers(t, dir); len(left) > 0 {
				t.Errorf("left %v behind", left)
			}
		})
	}
}

// doneAfter is a context whose Err turns to Canceled after n calls, to
// cancel a conversion at each of the places it looks.
type doneAfter struct {
	context.Context
	n int
}

func (c *doneAfter) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

// Cancelled at any point (converting tensors, writing model.safetensors,
// before the rename), a conversion removes its temporary directory; once it
// looked often enough, it finishes.
func TestConvertCancelledAnywhereLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.gguf")
	if err := os.WriteFile(in, storiesGGUF(t), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	cancelled := 0
	for _, n := range []int{0, 1, 5, 20, 40, 50, 60, 80, 100, 120, 1000} {
		_, err := Convert(&doneAfter{context.Background(), n}, in, out, Options{})
		left := leftovers(t, dir)
		switch {
		case errors.Is(err, context.Canceled):
			cancelled++
			if len(left) > 0 {
				t.Errorf("cancelled after %d looks: left %v behind", n, left)
			}
		case err != nil:
			t.Fatalf("after %d looks: %v", n, err)
		default:
			if len(left) != 1 || left[0] != "out" {
				t.Errorf("finished after %d looks: directory holds %v", n, left)
			}
			if err := os.RemoveAll(out); err != nil {
				t.Fatal(err)
			}
		}
	}
	if cancelled < 5 {
		t.Errorf("only %d of the runs were cancelled: the looks are too few to test", cancelled)
	}
}

// A cancelled conversion stops and removes its temporary directory.
func TestConvertCancelledLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.gguf")
	if err := os.WriteFile(in, storiesGGUF(t), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Convert(ctx, in, filepath.Join(dir, "out"), Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if left := leftovers(t, dir); len(left) > 0 {
		t.Errorf("left %v behind", left)
	}
	// And the same input converts when not cancelled.
	if _, err := Convert(context.Background(), in, filepath.Join(dir, "out"), Options{}); err != nil {
		t.Fatal(err)
	}
}
