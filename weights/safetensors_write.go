package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"
)

// WriteSafetensors writes tensors, in the given order and packed back to
// back, as a safetensors file. The header is padded with spaces to a
// multiple of 8 bytes so the data buffer starts 8-byte aligned. Each tensor
// must start at a multiple of its element size, so put wider dtypes first
// when mixing sizes; a misaligned layout is an error, not silently padded.
func WriteSafetensors(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	var header bytes.Buffer
	header.WriteByte('{')
	if len(metadata) > 0 {
		m, err := json.Marshal(metadata)
		if err != nil {
			return fmt.Errorf("weights: write safetensors: __metadata__: %w", err)
		}
		header.WriteString(`"__metadata__":`)
		header.Write(m)
	}
	seen := make(map[string]bool, len(tensors))
	var offset uint64
	for i, t := range tensors {
		size := t.DType.Size()
		switch {
		case size == 0:
			return fmt.Errorf("weights: write safetensors: tensor %q: unknown dtype %q", t.Name, t.DType)
		case t.Name == "__metadata__" || !utf8.ValidString(t.Name):
			return fmt.Errorf("weights: write safetensors: tensor %d: invalid name %q", i, t.Name)
		case seen[t.Name]:
			return fmt.Errorf("weights: write safetensors: tensor %q: duplicate name", t.Name)
		case offset%uint64(size) != 0 && len(t.Data) > 0:
			return fmt.Errorf("weights: write safetensors: tensor %q: would start at offset %d, not a multiple of its %d-byte %s element (order wider dtypes first)", t.Name, offset, size, t.DType)
		}
		seen[t.Name] = true
		numel := 1
		for _, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("weights: write safetensors: tensor %q: negative dimension in shape %v", t.Name, t.Shape)
			}
			numel *= d
		}
		if numel*size != len(t.Data) {
			return fmt.Errorf("weights: write safetensors: tensor %q: shape %v of %s needs %d bytes, Data has %d", t.Name, t.Shape, t.DType, numel*size, len(t.Data))
		}
		name, _ := json.Marshal(t.Name)
		shape, _ := json.Marshal(append([]int{}, t.Shape...)) // [] rather than null for scalars
		if header.Len() > 1 {
			header.WriteByte(',')
		}
		end := offset + uint64(len(t.Data))
		fmt.Fprintf(&header, `%s:{"dtype":"%s","shape":%s,"data_offsets":[%d,%d]}`, name, t.DType, shape, offset, end)
		offset = end
	}
	header.WriteByte('}')
	for header.Len()%8 != 0 {
		header.WriteByte(' ')
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(header.Len()))
	if _, err := w.Write(n[:]); err != nil {
		return fmt.Errorf("weights: write safetensors: %w", err)
	}
	if _, err := w.Write(header.Bytes()); err != nil {
		return fmt.Errorf("weights: write safetensors: %w", err)
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("weights: write safetensors: tensor %q: %w", t.Name, err)
		}
	}
	return nil
}
