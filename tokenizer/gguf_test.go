package tokenizer

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// readGGUFVocab reads just the tokenizer.* metadata of a GGUF v2/v3 file. It is a test
// helper so the tokenizer tests do not depend on the weights package.
func readGGUFVocab(path string) (GGUFVocab, error) {
	f, err := os.Open(path)
	if err != nil {
		return GGUFVocab{}, err
	}
	defer f.Close()
	kv, err := readGGUFMetadata(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return GGUFVocab{}, fmt.Errorf("%s: %w", path, err)
	}
	return vocabFromMetadata(kv)
}

func vocabFromMetadata(kv map[string]any) (GGUFVocab, error) {
	v := GGUFVocab{BOS: -1, EOS: -1, UNK: -1, PAD: -1}
	str := func(k string) string { s, _ := kv[k].(string); return s }
	v.Model = str("tokenizer.ggml.model")
	v.Pre = str("tokenizer.ggml.pre")
	v.ChatTemplate = str("tokenizer.chat_template")
	v.AddBOS, v.AddEOS, v.AddSpacePrefix = GGUFDefaults(v.Model)
	for k, dst := range map[string]*bool{
		"tokenizer.ggml.add_bos_token":    &v.AddBOS,
		"tokenizer.ggml.add_eos_token":    &v.AddEOS,
		"tokenizer.ggml.add_space_prefix": &v.AddSpacePrefix,
	} {
		if b, ok := kv[k].(bool); ok {
			*dst = b
		}
	}
	for k, dst := range map[string]*int{
		"tokenizer.ggml.bos_token_id":     &v.BOS,
		"tokenizer.ggml.eos_token_id":     &v.EOS,
		"tokenizer.ggml.unknown_token_id": &v.UNK,
		"tokenizer.ggml.padding_token_id": &v.PAD,
	} {
		if x, ok := kv[k].(uint64); ok && x < math.MaxInt32 {
			*dst = int(x)
		}
	}
	list := func(k string) []any { l, _ := kv[k].([]any); return l }
	for _, x := range list("tokenizer.ggml.tokens") {
		v.Tokens = append(v.Tokens, x.(string))
	}
	for _, x := range list("tokenizer.ggml.scores") {
		v.Scores = append(v.Scores, float32(x.(float64)))
	}
	for _, x := range list("tokenizer.ggml.token_type") {
		v.TokenTypes = append(v.TokenTypes, int32(x.(int64)))
	}
	for _, x := range list("tokenizer.ggml.merges") {
		v.Merges = append(v.Merges, x.(string))
	}
	return v, nil
}

// readGGUFMetadata returns the key/value section. Integers are uint64 (unsigned types) or
// int64 (signed), floats float64, arrays []any.
func readGGUFMetadata(r io.Reader) (map[string]any, error) {
	var hdr struct {
		Magic   [4]byte
		Version uint32
		Tensors uint64
		KVs     uint64
	}
	if err := binary.Read(r, binary.LittleEndian, &hdr); err != nil {
		return nil, err
	}
	if string(hdr.Magic[:]) != "GGUF" || hdr.Version < 2 {
		return nil, fmt.Errorf("not a GGUF v2+ file (magic %q version %d)", hdr.Magic, hdr.Version)
	}
	kv := make(map[string]any, hdr.KVs)
	for i := uint64(0); i < hdr.KVs; i++ {
		key, err := ggufString(r)
		if err != nil {
			return nil, err
		}
		var typ uint32
		if err := binary.Read(r, binary.LittleEndian, &typ); err != nil {
			return nil, err
		}
		val, err := ggufValue(r, typ, strings.HasPrefix(key, "tokenizer."))
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		kv[key] = val
	}
	return kv, nil
}

func ggufString(r io.Reader) (string, error) {
	var n uint64
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
		return "", err
	}
	if n > 1<<30 {
		return "", fmt.Errorf("string length %d too large", n)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return string(b), err
}

// ggufValue reads one value of type typ; keep=false reads arrays without storing them.
func ggufValue(r io.Reader, typ uint32, keep bool) (any, error) {
	var b [8]byte
	le := binary.LittleEndian
	fixed := map[uint32]int{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
	if size, ok := fixed[typ]; ok {
		if _, err := io.ReadFull(r, b[:size]); err != nil {
			return nil, err
		}
		switch typ {
		case 0:
			return uint64(b[0]), nil
		case 1:
			return int64(int8(b[0])), nil
		case 2:
			return uint64(le.Uint16(b[:])), nil
		case 3:
			return int64(int16(le.Uint16(b[:]))), nil
		case 4:
			return uint64(le.Uint32(b[:])), nil
		case 5:
			return int64(int32(le.Uint32(b[:]))), nil
		case 6:
			return float64(math.Float32frombits(le.Uint32(b[:]))), nil
		case 7:
			return b[0] != 0, nil
		case 10:
			return le.Uint64(b[:]), nil
		case 11:
			return int64(le.Uint64(b[:])), nil
		default:
			return math.Float64frombits(le.Uint64(b[:])), nil
		}
	}
	switch typ {
	case 8:
		return ggufString(r)
	case 9:
		var et uint32
		var n uint64
		if err := binary.Read(r, binary.LittleEndian, &et); err != nil {
			return nil, err
		}
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
			return nil, err
		}
		if n > 1<<28 {
			return nil, fmt.Errorf("array length %d too large", n)
		}
		var out []any
		for range n {
			x, err := ggufValue(r, et, keep)
			if err != nil {
				return nil, err
			}
			if keep {
				out = append(out, x)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown value type %d", typ)
}
