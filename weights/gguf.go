package weights

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"
)

// GGUFValueType is the type tag of a GGUF metadata value.
type GGUFValueType uint32

// GGUF metadata value types, numbered as in the file.
const (
	GGUFUint8 GGUFValueType = iota
	GGUFInt8
	GGUFUint16
	GGUFInt16
	GGUFUint32
	GGUFInt32
	GGUFFloat32
	GGUFBool
	GGUFString
	GGUFArray
	GGUFUint64
	GGUFInt64
	GGUFFloat64
)

var ggufValueNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

func (t GGUFValueType) String() string {
	if int(t) < len(ggufValueNames) {
		return ggufValueNames[t]
	}
	return fmt.Sprintf("GGUFValueType(%d)", uint32(t))
}

// scalarSize is the encoded size of a fixed-size value, 0 for string/array.
func (t GGUFValueType) scalarSize() int {
	switch t {
	case GGUFUint8, GGUFInt8, GGUFBool:
		return 1
	case GGUFUint16, GGUFInt16:
		return 2
	case GGUFUint32, GGUFInt32, GGUFFloat32:
		return 4
	case GGUFUint64, GGUFInt64, GGUFFloat64:
		return 8
	}
	return 0
}

// GGUFValue is one metadata value. Value holds the Go type matching Type:
// uint8, int8, uint16, int16, uint32, int32, float32, bool, string, uint64,
// int64 or float64. For an array, Elem is the element type and Value is the
// matching slice ([]uint8 … []string), or []GGUFValue for arrays of arrays.
type GGUFValue struct {
	Type  GGUFValueType
	Elem  GGUFValueType
	Value any
}

// GGUFTensorInfo describes one tensor. Ne[0] varies fastest: Ne=[576,192]
// is 192 rows of 576 columns. Offset is relative to the data section.
type GGUFTensorInfo struct {
	Name   string
	Ne     []int
	Type   GGMLType
	Offset uint64
	Size   int // bytes
}

// NumElements returns the product of Ne.
func (ti GGUFTensorInfo) NumElements() int {
	n := 1
	for _, d := range ti.Ne {
		n *= d
	}
	return n
}

// GGUFFile is one parsed GGUF file. TensorData returns views into the file
// bytes (see the package doc for ownership).
type GGUFFile struct {
	Version    uint32
	Alignment  int
	DataOffset int // file offset of the data section

	path    string
	keys    []string // metadata keys in file order
	kv      map[string]GGUFValue
	tensors []GGUFTensorInfo // in file order
	byName  map[string]int
	data    []byte // the data section
	unmap   func() error
}

// ErrMissingKey is wrapped by typed metadata accessors for an absent key.
var ErrMissingKey = errors.New("metadata key not found")

const (
	ggufMagic        = "GGUF"
	ggufMaxDims      = 4
	ggufMaxNesting   = 8 // arrays of arrays; real files use none
	ggufDefaultAlign = 32
)

// OpenGGUF maps path read-only and parses it.
func OpenGGUF(path string) (*GGUFFile, error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	f, err := ParseGGUF(path, data)
	if err != nil {
		unmap()
		return nil, err
	}
	f.unmap = unmap
	return f, nil
}

// ggufReader decodes little-endian fields, refusing to read past the end.
type ggufReader struct {
	data []byte
	pos  int
}

func (r *ggufReader) remaining() int { return len(r.data) - r.pos }

func (r *ggufReader) take(n uint64) ([]byte, error) {
	if n > uint64(r.remaining()) {
		return nil, fmt.Errorf("needs %d bytes at offset %d, file has %d left", n, r.pos, r.remaining())
	}
	b := r.data[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return b, nil
}

func (r *ggufReader) u32() (uint32, error) {
	b, err := r.take(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (r *ggufReader) u64() (uint64, error) {
	b, err := r.take(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (r *ggufReader) str() (string, error) {
	n, err := r.u64()
	if err != nil {
		return "", err
	}
	if n > uint64(r.remaining()) {
		return "", fmt.Errorf("string length %d at offset %d exceeds the %d bytes left", n, r.pos-8, r.remaining())
	}
	b, _ := r.take(n)
	return string(b), nil
}

// count reads an element count and checks that count elements of at least
// minSize bytes each fit in the rest of the file, before anything is
// allocated for them.
func (r *ggufReader) count(what string, minSize int) (int, error) {
	n, err := r.u64()
	if err != nil {
		return 0, fmt.Errorf("%s count: %w", what, err)
	}
	if n > uint64(r.remaining()/minSize) {
		return 0, fmt.Errorf("%s count %d cannot fit in the %d bytes left", what, n, r.remaining())
	}
	return int(n), nil
}

// ParseGGUF parses a GGUF file held in data; name is used in error
// messages. TensorData returns slices of data.
func ParseGGUF(name string, data []byte) (*GGUFFile, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("weights: %s: "+format, append([]any{name}, args...)...)
	}
	r := &ggufReader{data: data}
	magic, err := r.take(4)
	if err != nil {
		return nil, fail("magic: %w", err)
	}
	if string(magic) != ggufMagic {
		return nil, fail("magic %q, want %q: not a GGUF file", magic, ggufMagic)
	}
	version, err := r.u32()
	if err != nil {
		return nil, fail("version: %w", err)
	}
	if swapped := bits.ReverseBytes32(version); swapped == 2 || swapped == 3 {
		return nil, fail("version %d is big-endian; only little-endian GGUF is supported", swapped)
	}
	if version != 2 && version != 3 {
		return nil, fail("version %d not supported (only GGUF v2 and v3)", version)
	}
	f := &GGUFFile{Version: version, path: name, kv: make(map[string]GGUFValue), byName: make(map[string]int)}

	// Smallest encodings: a tensor info is name length, n_dims, type and
	// offset (24 bytes); a KV is key length, type tag and one byte (13).
	nTensors, err := r.count("tensor", 24)
	if err != nil {
		return nil, fail("%w", err)
	}
	nKV, err := r.count("metadata", 13)
	if err != nil {
		return nil, fail("%w", err)
	}
	for i := range nKV {
		key, err := r.str()
		if err != nil {
			return nil, fail("metadata %d key: %w", i, err)
		}
		if _, dup := f.kv[key]; dup {
			return nil, fail("metadata %q: duplicate key", key)
		}
		typ, err := r.u32()
		if err != nil {
			return nil, fail("metadata %q type: %w", key, err)
		}
		v, err := r.value(GGUFValueType(typ), 0)
		if err != nil {
			return nil, fail("metadata %q: %w", key, err)
		}
		f.keys = append(f.keys, key)
		f.kv[key] = v
	}

	f.Alignment = ggufDefaultAlign
	if v, ok := f.kv["general.alignment"]; ok {
		a, isU32 := v.Value.(uint32)
		if !isU32 || a == 0 || a&(a-1) != 0 {
			return nil, fail("metadata \"general.alignment\": want a uint32 power of two, have %s %v", v.Type, v.Value)
		}
		f.Alignment = int(a)
	}

	f.tensors = make([]GGUFTensorInfo, 0, nTensors)
	for i := range nTensors {
		ti, err := r.tensorInfo(uint64(f.Alignment))
		if err != nil {
			if ti.Name != "" {
				return nil, fail("tensor %q: %w", ti.Name, err)
			}
			return nil, fail("tensor %d: %w", i, err)
		}
		if _, dup := f.byName[ti.Name]; dup {
			return nil, fail("tensor %q: duplicate name", ti.Name)
		}
		f.byName[ti.Name] = i
		f.tensors = append(f.tensors, ti)
	}

	// The data section starts at the next multiple of the alignment.
	f.DataOffset = r.pos + (f.Alignment-r.pos%f.Alignment)%f.Alignment
	if f.DataOffset <= len(data) {
		f.data = data[f.DataOffset:]
	} else if nTensors > 0 {
		return nil, fail("data section at offset %d is past the end of the %d-byte file", f.DataOffset, len(data))
	}
	order := make([]int, len(f.tensors))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return f.tensors[order[a]].Offset < f.tensors[order[b]].Offset })
	var end uint64
	for k, i := range order {
		ti := f.tensors[i]
		if ti.Offset > uint64(len(f.data)) || uint64(ti.Size) > uint64(len(f.data))-ti.Offset {
			return nil, fail("tensor %q: %d bytes at data offset %d run past the %d-byte data section", ti.Name, ti.Size, ti.Offset, len(f.data))
		}
		if ti.Offset < end && ti.Size > 0 {
			prev := f.tensors[order[k-1]].Name
			return nil, fail("tensor %q: data offset %d overlaps tensor %q ending at %d", ti.Name, ti.Offset, prev, end)
		}
		end = max(end, ti.Offset+uint64(ti.Size))
	}
	return f, nil
}

// value decodes one metadata value of type typ.
func (r *ggufReader) value(typ GGUFValueType, depth int) (GGUFValue, error) {
	if typ == GGUFArray {
		return r.array(depth)
	}
	if typ == GGUFString {
		s, err := r.str()
		return GGUFValue{Type: typ, Value: s}, err
	}
	size := typ.scalarSize()
	if size == 0 {
		return GGUFValue{}, fmt.Errorf("unknown value type %d", uint32(typ))
	}
	b, err := r.take(uint64(size))
	if err != nil {
		return GGUFValue{}, err
	}
	v, err := decodeScalar(typ, b)
	return GGUFValue{Type: typ, Value: v}, err
}

func decodeScalar(typ GGUFValueType, b []byte) (any, error) {
	le := binary.LittleEndian
	switch typ {
	case GGUFUint8:
		return b[0], nil
	case GGUFInt8:
		return int8(b[0]), nil
	case GGUFBool:
		if b[0] > 1 {
			return nil, fmt.Errorf("bool byte %d is neither 0 nor 1", b[0])
		}
		return b[0] == 1, nil
	case GGUFUint16:
		return le.Uint16(b), nil
	case GGUFInt16:
		return int16(le.Uint16(b)), nil
	case GGUFUint32:
		return le.Uint32(b), nil
	case GGUFInt32:
		return int32(le.Uint32(b)), nil
	case GGUFFloat32:
		return math.Float32frombits(le.Uint32(b)), nil
	case GGUFUint64:
		return le.Uint64(b), nil
	case GGUFInt64:
		return int64(le.Uint64(b)), nil
	case GGUFFloat64:
		return math.Float64frombits(le.Uint64(b)), nil
	}
	panic("weights: decodeScalar of non-scalar type") // callers pass scalar types only
}

// array decodes an array value: element type, count, elements.
func (r *ggufReader) array(depth int) (GGUFValue, error) {
	if depth >= ggufMaxNesting {
		return GGUFValue{}, fmt.Errorf("arrays nested deeper than %d", ggufMaxNesting)
	}
	et, err := r.u32()
	if err != nil {
		return GGUFValue{}, fmt.Errorf("array element type: %w", err)
	}
	elem := GGUFValueType(et)
	minSize := elem.scalarSize()
	switch elem {
	case GGUFString:
		minSize = 8
	case GGUFArray:
		minSize = 12
	}
	if minSize == 0 {
		return GGUFValue{}, fmt.Errorf("array of unknown value type %d", et)
	}
	n, err := r.count("array", minSize)
	if err != nil {
		return GGUFValue{}, err
	}
	out := GGUFValue{Type: GGUFArray, Elem: elem}
	switch elem {
	case GGUFString:
		s := make([]string, n)
		for i := range s {
			if s[i], err = r.str(); err != nil {
				return GGUFValue{}, fmt.Errorf("array element %d: %w", i, err)
			}
		}
		out.Value = s
	case GGUFArray:
		vs := make([]GGUFValue, n)
		for i := range vs {
			if vs[i], err = r.array(depth + 1); err != nil {
				return GGUFValue{}, fmt.Errorf("array element %d: %w", i, err)
			}
		}
		out.Value = vs
	default:
		b, _ := r.take(uint64(n * minSize)) // fits: checked by count
		out.Value, err = decodeScalarArray(elem, b, n)
	}
	return out, err
}

func decodeScalarArray(elem GGUFValueType, b []byte, n int) (any, error) {
	le := binary.LittleEndian
	switch elem {
	case GGUFUint8:
		return append([]uint8{}, b...), nil
	case GGUFInt8:
		return fill(n, func(i int) int8 { return int8(b[i]) }), nil
	case GGUFBool:
		for i, c := range b {
			if c > 1 {
				return nil, fmt.Errorf("array element %d: bool byte %d is neither 0 nor 1", i, c)
			}
		}
		return fill(n, func(i int) bool { return b[i] == 1 }), nil
	case GGUFUint16:
		return fill(n, func(i int) uint16 { return le.Uint16(b[2*i:]) }), nil
	case GGUFInt16:
		return fill(n, func(i int) int16 { return int16(le.Uint16(b[2*i:])) }), nil
	case GGUFUint32:
		return fill(n, func(i int) uint32 { return le.Uint32(b[4*i:]) }), nil
	case GGUFInt32:
		return fill(n, func(i int) int32 { return int32(le.Uint32(b[4*i:])) }), nil
	case GGUFFloat32:
		return fill(n, func(i int) float32 { return math.Float32frombits(le.Uint32(b[4*i:])) }), nil
	case GGUFUint64:
		return fill(n, func(i int) uint64 { return le.Uint64(b[8*i:]) }), nil
	case GGUFInt64:
		return fill(n, func(i int) int64 { return int64(le.Uint64(b[8*i:])) }), nil
	case GGUFFloat64:
		return fill(n, func(i int) float64 { return math.Float64frombits(le.Uint64(b[8*i:])) }), nil
	}
	panic("weights: decodeScalarArray of non-scalar type") // callers pass scalar types only
}

func fill[T any](n int, at func(int) T) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = at(i)
	}
	return s
}

// tensorInfo decodes one tensor info and computes its size; offsets must be
// multiples of align.
func (r *ggufReader) tensorInfo(align uint64) (GGUFTensorInfo, error) {
	var ti GGUFTensorInfo
	var err error
	if ti.Name, err = r.str(); err != nil {
		return ti, fmt.Errorf("name: %w", err)
	}
	nDims, err := r.u32()
	if err != nil {
		return ti, fmt.Errorf("n_dims: %w", err)
	}
	if nDims > ggufMaxDims {
		return ti, fmt.Errorf("n_dims %d exceeds %d", nDims, ggufMaxDims)
	}
	numel := uint64(1)
	for d := range nDims {
		ne, err := r.u64()
		if err != nil {
			return ti, fmt.Errorf("ne[%d]: %w", d, err)
		}
		hi, lo := bits.Mul64(numel, ne)
		if ne > math.MaxInt64 || hi != 0 || lo > math.MaxInt64 {
			return ti, fmt.Errorf("ne %v,%d: element count overflows", ti.Ne, ne)
		}
		numel = lo
		ti.Ne = append(ti.Ne, int(ne))
	}
	typ, err := r.u32()
	if err != nil {
		return ti, fmt.Errorf("type: %w", err)
	}
	ti.Type = GGMLType(typ)
	if ti.Type.BlockSize() == 0 {
		return ti, fmt.Errorf("unknown ggml type %d", typ)
	}
	if len(ti.Ne) > 0 && ti.Ne[0]%ti.Type.BlockSize() != 0 {
		return ti, fmt.Errorf("ne[0]=%d is not a multiple of the %d-element %s block", ti.Ne[0], ti.Type.BlockSize(), ti.Type)
	}
	if ti.Size, err = ti.Type.RowBytes(int(numel)); err != nil {
		return ti, fmt.Errorf("ne %v: %w", ti.Ne, err)
	}
	if ti.Offset, err = r.u64(); err != nil {
		return ti, fmt.Errorf("offset: %w", err)
	}
	if ti.Offset%align != 0 {
		return ti, fmt.Errorf("offset %d is not a multiple of the alignment %d", ti.Offset, align)
	}
	return ti, nil
}

// Close unmaps the file. Slices from TensorData become invalid.
func (f *GGUFFile) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap, f.data, f.byName = nil, nil, nil
	return err
}

// Path returns the file name given to Open or Parse.
func (f *GGUFFile) Path() string { return f.path }

// Keys returns the metadata keys in file order.
func (f *GGUFFile) Keys() []string { return append([]string{}, f.keys...) }

// Metadata returns the value stored under key.
func (f *GGUFFile) Metadata(key string) (GGUFValue, bool) {
	v, ok := f.kv[key]
	return v, ok
}

// Tensors returns every tensor info in file order.
func (f *GGUFFile) Tensors() []GGUFTensorInfo {
	out := make([]GGUFTensorInfo, len(f.tensors))
	for i, ti := range f.tensors {
		ti.Ne = append([]int{}, ti.Ne...)
		out[i] = ti
	}
	return out
}

// TensorData returns the raw bytes of the named tensor (a view into the
// file) and its info; an unknown name wraps ErrMissingTensor.
func (f *GGUFFile) TensorData(name string) ([]byte, GGUFTensorInfo, error) {
	i, ok := f.byName[name]
	if !ok {
		return nil, GGUFTensorInfo{}, fmt.Errorf("weights: %s: tensor %q: %w", f.path, name, ErrMissingTensor)
	}
	ti := f.tensors[i]
	ti.Ne = append([]int{}, ti.Ne...)
	end := ti.Offset + uint64(ti.Size)
	return f.data[ti.Offset:end:end], ti, nil
}

// lookup returns the value under key or an error naming file and key.
func (f *GGUFFile) lookup(key string) (GGUFValue, error) {
	v, ok := f.kv[key]
	if !ok {
		return v, fmt.Errorf("weights: %s: metadata %q: %w", f.path, key, ErrMissingKey)
	}
	return v, nil
}

func (f *GGUFFile) wrongType(key string, v GGUFValue, want string) error {
	have := v.Type.String()
	if v.Type == GGUFArray {
		have = "array of " + v.Elem.String()
	}
	return fmt.Errorf("weights: %s: metadata %q: is %s, want %s", f.path, key, have, want)
}

// String returns a string value.
func (f *GGUFFile) String(key string) (string, error) {
	v, err := f.lookup(key)
	if err != nil {
		return "", err
	}
	s, ok := v.Value.(string)
	if !ok {
		return "", f.wrongType(key, v, "string")
	}
	return s, nil
}

// Uint returns an integer value of any width that is not negative.
func (f *GGUFFile) Uint(key string) (uint64, error) {
	v, err := f.lookup(key)
	if err != nil {
		return 0, err
	}
	var u uint64
	var neg bool
	switch x := v.Value.(type) {
	case uint8:
		u = uint64(x)
	case uint16:
		u = uint64(x)
	case uint32:
		u = uint64(x)
	case uint64:
		u = x
	case int8:
		u, neg = uint64(x), x < 0
	case int16:
		u, neg = uint64(x), x < 0
	case int32:
		u, neg = uint64(x), x < 0
	case int64:
		u, neg = uint64(x), x < 0
	default:
		return 0, f.wrongType(key, v, "an unsigned integer")
	}
	if neg {
		return 0, fmt.Errorf("weights: %s: metadata %q: negative value %v", f.path, key, v.Value)
	}
	return u, nil
}

// Float returns a float32 or float64 value as float64.
func (f *GGUFFile) Float(key string) (float64, error) {
	v, err := f.lookup(key)
	if err != nil {
		return 0, err
	}
	switch x := v.Value.(type) {
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	}
	return 0, f.wrongType(key, v, "a float")
}

// Strings returns an array of strings.
func (f *GGUFFile) Strings(key string) ([]string, error) {
	return arrayOf[string](f, key, "array of string")
}

// Float32s returns an array of float32.
func (f *GGUFFile) Float32s(key string) ([]float32, error) {
	return arrayOf[float32](f, key, "array of float32")
}

// Int32s returns an array of int32.
func (f *GGUFFile) Int32s(key string) ([]int32, error) {
	return arrayOf[int32](f, key, "array of int32")
}

func arrayOf[T any](f *GGUFFile, key, want string) ([]T, error) {
	v, err := f.lookup(key)
	if err != nil {
		return nil, err
	}
	s, ok := v.Value.([]T)
	if !ok {
		return nil, f.wrongType(key, v, want)
	}
	return append([]T{}, s...), nil
}
