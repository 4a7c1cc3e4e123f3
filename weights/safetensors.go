package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"unicode/utf8"
)

// ErrMissingTensor is wrapped by every lookup of a tensor name that is not
// in the file or checkpoint.
var ErrMissingTensor = errors.New("tensor not found")

// maxSafetensorsHeader is the header size limit of the reference Rust
// implementation (100 MB).
const maxSafetensorsHeader = 100_000_000

// SafetensorsFile is one parsed safetensors file. Its tensors are views
// into the file bytes (see the package doc for ownership).
type SafetensorsFile struct {
	path     string
	tensors  map[string]Tensor
	names    []string // sorted
	metadata map[string]string
	unmap    func() error
}

// OpenSafetensors maps path read-only and validates its header.
func OpenSafetensors(path string) (*SafetensorsFile, error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	f, err := ParseSafetensors(path, data)
	if err != nil {
		unmap()
		return nil, err
	}
	f.unmap = unmap
	return f, nil
}

// ParseSafetensors validates a safetensors file held in data; name is used
// in error messages. The returned tensors alias data.
func ParseSafetensors(name string, data []byte) (*SafetensorsFile, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("weights: %s: "+format, append([]any{name}, args...)...)
	}
	if len(data) < 8 {
		return nil, fail("file is %d bytes, shorter than the 8-byte header length", len(data))
	}
	headerLen := binary.LittleEndian.Uint64(data)
	if headerLen > maxSafetensorsHeader {
		return nil, fail("header length %d exceeds the %d-byte limit", headerLen, maxSafetensorsHeader)
	}
	if headerLen > uint64(len(data)-8) {
		return nil, fail("header length %d exceeds the %d bytes after the length field", headerLen, len(data)-8)
	}
	header := data[8 : 8+headerLen]
	buffer := data[8+headerLen:]
	if len(header) == 0 || header[0] != '{' {
		return nil, fail("header does not start with '{'")
	}
	if !utf8.Valid(header) {
		return nil, fail("header is not valid UTF-8")
	}
	entries, metadata, err := decodeSafetensorsHeader(header)
	if err != nil {
		return nil, fail("header: %w", err)
	}

	f := &SafetensorsFile{path: name, tensors: make(map[string]Tensor, len(entries)), metadata: metadata}
	type span struct {
		name       string
		begin, end uint64
	}
	spans := make([]span, 0, len(entries))
	for _, e := range entries {
		t, begin, end, err := e.validate(uint64(len(buffer)))
		if err != nil {
			return nil, fail("tensor %q: %w", e.name, err)
		}
		t.Data = buffer[begin:end:end]
		f.tensors[e.name] = t
		f.names = append(f.names, e.name)
		spans = append(spans, span{e.name, begin, end})
	}
	sort.Strings(f.names)

	// The tensors sorted by offset must tile the buffer: no gap, no overlap.
	sort.SliceStable(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		return spans[i].end < spans[j].end
	})
	var next uint64
	for i, s := range spans {
		switch {
		case s.begin < next:
			return nil, fail("tensor %q: data_offsets [%d,%d] overlap tensor %q ending at %d", s.name, s.begin, s.end, spans[i-1].name, next)
		case s.begin > next:
			return nil, fail("tensor %q: data_offsets [%d,%d] leave a gap of %d bytes after offset %d", s.name, s.begin, s.end, s.begin-next, next)
		}
		next = s.end
	}
	if next != uint64(len(buffer)) {
		return nil, fail("tensors cover %d bytes but the data buffer has %d", next, len(buffer))
	}
	return f, nil
}

// headerEntry is one tensor entry of the JSON header, not yet validated.
type headerEntry struct {
	name        string
	DType       *string   `json:"dtype"`
	Shape       *[]int64  `json:"shape"`
	DataOffsets *[]uint64 `json:"data_offsets"`
}

// validate checks the entry against a data buffer of bufLen bytes and
// returns the tensor (without Data) and its byte span.
func (e headerEntry) validate(bufLen uint64) (t Tensor, begin, end uint64, err error) {
	switch {
	case e.DType == nil:
		return t, 0, 0, errors.New("missing dtype")
	case e.Shape == nil:
		return t, 0, 0, errors.New("missing shape")
	case e.DataOffsets == nil:
		return t, 0, 0, errors.New("missing data_offsets")
	}
	dt := DType(*e.DType)
	size := uint64(dt.Size())
	if size == 0 {
		return t, 0, 0, fmt.Errorf("unknown dtype %q", *e.DType)
	}
	if len(*e.DataOffsets) != 2 {
		return t, 0, 0, fmt.Errorf("data_offsets has %d entries, want [begin, end]", len(*e.DataOffsets))
	}
	begin, end = (*e.DataOffsets)[0], (*e.DataOffsets)[1]
	if begin > end {
		return t, 0, 0, fmt.Errorf("data_offsets [%d,%d]: begin after end", begin, end)
	}
	if end > bufLen {
		return t, 0, 0, fmt.Errorf("data_offsets [%d,%d]: end beyond the %d-byte data buffer", begin, end, bufLen)
	}
	if begin%size != 0 && end > begin {
		return t, 0, 0, fmt.Errorf("data_offsets [%d,%d]: begin not aligned to the %d-byte %s element", begin, end, size, dt)
	}
	shape := make([]int, len(*e.Shape))
	numel := uint64(1)
	overflow := false
	for i, d := range *e.Shape {
		if d < 0 {
			return t, 0, 0, fmt.Errorf("shape %v: negative dimension", *e.Shape)
		}
		shape[i] = int(d)
		if d != 0 && numel > math.MaxInt64/uint64(d) {
			overflow = true
		}
		numel *= uint64(d)
	}
	if slices.Contains(shape, 0) {
		numel, overflow = 0, false
	}
	if overflow || numel > math.MaxInt64/size {
		return t, 0, 0, fmt.Errorf("shape %v: element count overflows", *e.Shape)
	}
	if numel*size != end-begin {
		return t, 0, 0, fmt.Errorf("shape %v of %s needs %d bytes but data_offsets [%d,%d] span %d", *e.Shape, dt, numel*size, begin, end, end-begin)
	}
	return Tensor{Name: e.name, DType: dt, Shape: shape}, begin, end, nil
}

// decodeSafetensorsHeader walks the header object token by token so that a
// duplicate tensor name is an error (encoding/json would keep the last one).
func decodeSafetensorsHeader(header []byte) ([]headerEntry, map[string]string, error) {
	entries, metadata, err := decodeHeaderTokens(header)
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: unexpected end of JSON", err)
	}
	return entries, metadata, err
}

func decodeHeaderTokens(header []byte) ([]headerEntry, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	if tok, err := dec.Token(); err != nil {
		return nil, nil, err
	} else if tok != json.Delim('{') {
		return nil, nil, errors.New("not a JSON object")
	}
	var entries []headerEntry
	var metadata map[string]string
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key := tok.(string) // object keys are always strings
		if seen[key] {
			return nil, nil, fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		if key == "__metadata__" {
			if err := dec.Decode(&metadata); err != nil {
				return nil, nil, fmt.Errorf("__metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		e := headerEntry{name: key}
		if err := dec.Decode(&e); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", key, err)
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("data after the JSON object")
	}
	return entries, metadata, nil
}

// Close unmaps the file. Views returned earlier become invalid.
func (f *SafetensorsFile) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap = nil
	f.tensors = nil
	return err
}

// Path returns the file name given to Open or Parse.
func (f *SafetensorsFile) Path() string { return f.path }

// Names returns the tensor names in sorted order.
func (f *SafetensorsFile) Names() []string { return slices.Clone(f.names) }

// Tensor returns the named tensor; an unknown name wraps ErrMissingTensor.
func (f *SafetensorsFile) Tensor(name string) (Tensor, error) {
	t, ok := f.tensors[name]
	if !ok {
		return Tensor{}, fmt.Errorf("weights: %s: tensor %q: %w", f.path, name, ErrMissingTensor)
	}
	t.Shape = slices.Clone(t.Shape)
	return t, nil
}

// Metadata returns a copy of the "__metadata__" map (empty if absent).
func (f *SafetensorsFile) Metadata() map[string]string {
	m := make(map[string]string, len(f.metadata))
	for k, v := range f.metadata {
		m[k] = v
	}
	return m
}
