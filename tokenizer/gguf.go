package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// GGUFVocab is the tokenizer metadata of a GGUF file (the tokenizer.ggml.* keys).
//
// The boolean flags must already hold llama.cpp's defaults for absent keys: for Model
// "llama" (SentencePiece) AddBOS and AddSpacePrefix default to true, AddEOS to false; for
// "gpt2" all three default to false. GGUFDefaults returns these.
type GGUFVocab struct {
	Model          string    // tokenizer.ggml.model: "llama" or "gpt2"
	Pre            string    // tokenizer.ggml.pre, e.g. "smollm", "llama-bpe", "default" ("" = "default")
	Tokens         []string  // tokenizer.ggml.tokens, indexed by id
	Scores         []float32 // tokenizer.ggml.scores (needed for "llama")
	TokenTypes     []int32   // tokenizer.ggml.token_type: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
	Merges         []string  // tokenizer.ggml.merges, "a b" (needed for "gpt2")
	BOS, EOS       int       // tokenizer.ggml.bos_token_id / eos_token_id, -1 if absent
	UNK, PAD       int       // tokenizer.ggml.unknown_token_id / padding_token_id, -1 if absent
	AddBOS         bool      // tokenizer.ggml.add_bos_token
	AddEOS         bool      // tokenizer.ggml.add_eos_token
	AddSpacePrefix bool      // tokenizer.ggml.add_space_prefix
	ChatTemplate   string    // tokenizer.chat_template (not used for encoding)
}

// GGUF token types (llama.cpp's llama_token_type).
const (
	ggufTypeNormal      = 1
	ggufTypeUnknown     = 2
	ggufTypeControl     = 3
	ggufTypeUserDefined = 4
	ggufTypeUnused      = 5
	ggufTypeByte        = 6
)

// GGUFDefaults returns llama.cpp's values of add_bos_token, add_eos_token and
// add_space_prefix for a tokenizer model whose GGUF lacks those keys.
func GGUFDefaults(model string) (addBOS, addEOS, addSpacePrefix bool) {
	if model == "llama" {
		return true, false, true
	}
	return false, false, false
}

// llama3Pattern is the Llama-3 pre-tokenizer regex (tokenizer.ggml.pre "llama-bpe").
const llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// qwen2Pattern is Qwen2's pre-tokenizer regex (tokenizer.ggml.pre "qwen2"), as in the
// Split pre-tokenizer of Qwen2's tokenizer.json: Llama-3's with every digit on its own.
const qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// FromGGUF builds an HF tokenizer.json from GGUF tokenizer metadata, the way HF's
// converters do: "llama" becomes a byte-fallback BPE whose merges are generated from the
// piece scores (LlamaConverter), "gpt2" a byte-level BPE with the given merges and the
// pre-tokenizer named by Pre.
func FromGGUF(v GGUFVocab) ([]byte, error) {
	out, err := fromGGUF(v)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: gguf: %w", err)
	}
	return out, nil
}

// FromGGUFTokenizer is FromGGUF followed by Parse, with BOS and EOS taken from the GGUF's
// bos_token_id and eos_token_id.
func FromGGUFTokenizer(v GGUFVocab) (*Tokenizer, error) {
	data, err := FromGGUF(v)
	if err != nil {
		return nil, err
	}
	t, err := Parse("gguf", data)
	if err != nil {
		return nil, err
	}
	t.bos, t.eos = -1, -1
	if v.BOS >= 0 {
		t.bos = v.BOS
	}
	if v.EOS >= 0 {
		t.eos = v.EOS
	}
	return t, nil
}

// Ordered JSON for the emitted file (field order as HF writes it).
type outFile struct {
	Version       string      `json:"version"`
	Truncation    any         `json:"truncation"`
	Padding       any         `json:"padding"`
	AddedTokens   []outAdded  `json:"added_tokens"`
	Normalizer    any         `json:"normalizer"`
	PreTokenizer  any         `json:"pre_tokenizer"`
	PostProcessor any         `json:"post_processor"`
	Decoder       any         `json:"decoder"`
	Model         outBPEModel `json:"model"`
}

type outAdded struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type outBPEModel struct {
	Type                    string          `json:"type"`
	Dropout                 any             `json:"dropout"`
	UnkToken                *string         `json:"unk_token"`
	ContinuingSubwordPrefix any             `json:"continuing_subword_prefix"`
	EndOfWordSuffix         any             `json:"end_of_word_suffix"`
	FuseUnk                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  [][2]string     `json:"merges"`
}

// obj is a JSON object literal for the small components.
type obj = map[string]any

func fromGGUF(v GGUFVocab) ([]byte, error) {
	n := len(v.Tokens)
	if n == 0 {
		return nil, fmt.Errorf("tokenizer.ggml.tokens: empty")
	}
	if v.TokenTypes != nil && len(v.TokenTypes) != n {
		return nil, fmt.Errorf("tokenizer.ggml.token_type: %d entries for %d tokens", len(v.TokenTypes), n)
	}
	for _, f := range []struct {
		key string
		id  int
	}{{"bos_token_id", v.BOS}, {"eos_token_id", v.EOS}, {"unknown_token_id", v.UNK}, {"padding_token_id", v.PAD}} {
		if f.id >= n {
			return nil, fmt.Errorf("tokenizer.ggml.%s: %d outside the %d tokens", f.key, f.id, n)
		}
	}
	for i, tok := range v.Tokens {
		if !utf8.ValidString(tok) {
			return nil, fmt.Errorf("tokenizer.ggml.tokens[%d]: invalid UTF-8", i)
		}
	}
	typeOf := func(id int) int32 {
		if v.TokenTypes == nil {
			return ggufTypeNormal
		}
		return v.TokenTypes[id]
	}
	vocab, ids := orderedVocab(v.Tokens)
	f := outFile{Version: "1.0", AddedTokens: []outAdded{}}
	f.Model = outBPEModel{Type: "BPE", Vocab: vocab}
	switch v.Model {
	case "llama":
		if len(v.Scores) != n {
			return nil, fmt.Errorf("tokenizer.ggml.scores: %d entries for %d tokens", len(v.Scores), n)
		}
		for id := range n {
			switch typeOf(id) {
			case ggufTypeUnknown, ggufTypeControl:
				f.AddedTokens = append(f.AddedTokens, outAdded{ID: id, Content: v.Tokens[id], Special: true})
			case ggufTypeUserDefined:
				f.AddedTokens = append(f.AddedTokens, outAdded{ID: id, Content: v.Tokens[id]})
			}
		}
		f.Model.Merges = spmMerges(v.Tokens, v.Scores, ids)
		f.Model.ByteFallback = true
		f.Model.FuseUnk = true
		if v.UNK >= 0 {
			unk := v.Tokens[v.UNK]
			f.Model.UnkToken = &unk
		}
		var norms []any
		if v.AddSpacePrefix {
			norms = append(norms, obj{"type": "Prepend", "prepend": "▁"})
		}
		norms = append(norms, obj{"type": "Replace", "pattern": obj{"String": " "}, "content": "▁"})
		f.Normalizer = obj{"type": "Sequence", "normalizers": norms}
		decs := []any{
			obj{"type": "Replace", "pattern": obj{"String": "▁"}, "content": " "},
			obj{"type": "ByteFallback"},
			obj{"type": "Fuse"},
		}
		if v.AddSpacePrefix {
			decs = append(decs, obj{"type": "Strip", "content": " ", "start": 1, "stop": 0})
		}
		f.Decoder = obj{"type": "Sequence", "decoders": decs}
	case "gpt2":
		for id := range n {
			switch typeOf(id) {
			case ggufTypeControl:
				f.AddedTokens = append(f.AddedTokens, outAdded{ID: id, Content: v.Tokens[id], Special: true})
			case ggufTypeUserDefined:
				f.AddedTokens = append(f.AddedTokens, outAdded{ID: id, Content: v.Tokens[id]})
			}
		}
		f.Model.Merges = make([][2]string, len(v.Merges))
		for i, m := range v.Merges {
			a, b, ok := strings.Cut(m, " ")
			if !ok {
				return nil, fmt.Errorf("tokenizer.ggml.merges[%d]: %q has no space between its two parts", i, m)
			}
			f.Model.Merges[i] = [2]string{a, b}
		}
		byteLevel := func(useRegex bool) obj {
			return obj{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": useRegex}
		}
		switch v.Pre {
		case "smollm":
			f.PreTokenizer = obj{"type": "Sequence", "pretokenizers": []any{
				obj{"type": "Digits", "individual_digits": true},
				byteLevel(true),
			}}
		case "llama-bpe", "llama3":
			f.PreTokenizer = obj{"type": "Sequence", "pretokenizers": []any{
				obj{"type": "Split", "pattern": obj{"Regex": llama3Pattern}, "behavior": "Isolated", "invert": false},
				byteLevel(false),
			}}
			f.Model.IgnoreMerges = true
		case "qwen2":
			// Qwen2's tokenizer.json: NFC, then its regex split, then bytes to characters.
			f.Normalizer = obj{"type": "NFC"}
			f.PreTokenizer = obj{"type": "Sequence", "pretokenizers": []any{
				obj{"type": "Split", "pattern": obj{"Regex": qwen2Pattern}, "behavior": "Isolated", "invert": false},
				byteLevel(false),
			}}
		case "", "default", "gpt2", "gpt-2":
			f.PreTokenizer = byteLevel(true)
		default:
			return nil, fmt.Errorf("tokenizer.ggml.pre: %q %w", v.Pre, ErrUnsupported)
		}
		f.Decoder = obj{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}
	default:
		return nil, fmt.Errorf("tokenizer.ggml.model: %q %w", v.Model, ErrUnsupported)
	}
	post, err := ggufTemplate(v)
	if err != nil {
		return nil, err
	}
	f.PostProcessor = post
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// orderedVocab writes the vocab object in id order. A token string that occurs twice keeps
// its first id (a JSON object cannot hold both).
func orderedVocab(tokens []string) (json.RawMessage, map[string]int) {
	ids := make(map[string]int, len(tokens))
	var b bytes.Buffer
	b.WriteByte('{')
	for id, tok := range tokens {
		if _, dup := ids[tok]; dup {
			continue
		}
		ids[tok] = id
		if id > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(tok) // a string never fails to marshal
		b.Write(k)
		fmt.Fprintf(&b, ":%d", id)
	}
	b.WriteByte('}')
	return b.Bytes(), ids
}

// spmMerges generates BPE merges from a SentencePiece vocabulary as HF's
// SentencePieceExtractor does: every split of a piece into two pieces of the vocab is a
// merge; merges are ordered by the score of the merged piece, highest first, ties by the
// merged piece's id, then by the ids of the left and right parts.
func spmMerges(tokens []string, scores []float32, ids map[string]int) [][2]string {
	type cand struct {
		left, right   string
		lid, rid, pid int
		score         float32
	}
	var all []cand
	for pid, piece := range tokens {
		if ids[piece] != pid {
			continue // duplicate piece
		}
		start := len(all)
		for k := range piece {
			if k == 0 {
				continue
			}
			l, rr := piece[:k], piece[k:]
			lid, okL := ids[l]
			rid, okR := ids[rr]
			if okL && okR {
				all = append(all, cand{l, rr, lid, rid, pid, scores[pid]})
			}
		}
		local := all[start:]
		sort.SliceStable(local, func(i, j int) bool {
			if local[i].lid != local[j].lid {
				return local[i].lid < local[j].lid
			}
			return local[i].rid < local[j].rid
		})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].score > all[j].score })
	out := make([][2]string, len(all))
	for i, c := range all {
		out[i] = [2]string{c.left, c.right}
	}
	return out
}

// ggufTemplate is the TemplateProcessing post-processor adding BOS/EOS as the flags say,
// or nil when neither is added.
func ggufTemplate(v GGUFVocab) (any, error) {
	if !v.AddBOS && !v.AddEOS {
		return nil, nil
	}
	special := obj{}
	var single, pair []any
	addSpecial := func(id int, key string) (string, error) {
		if id < 0 {
			return "", fmt.Errorf("tokenizer.ggml.%s: absent but tokenizer.ggml.add_%s is set", key+"_token_id", key+"_token")
		}
		tok := v.Tokens[id]
		special[tok] = obj{"id": tok, "ids": []int{id}, "tokens": []string{tok}}
		return tok, nil
	}
	sp := func(tok string, typeID int) obj { return obj{"SpecialToken": obj{"id": tok, "type_id": typeID}} }
	seq := func(name string, typeID int) obj { return obj{"Sequence": obj{"id": name, "type_id": typeID}} }
	var bos, eos string
	var err error
	if v.AddBOS {
		if bos, err = addSpecial(v.BOS, "bos"); err != nil {
			return nil, err
		}
		single = append(single, sp(bos, 0))
		pair = append(pair, sp(bos, 0))
	}
	single = append(single, seq("A", 0))
	pair = append(pair, seq("A", 0))
	if v.AddEOS {
		if eos, err = addSpecial(v.EOS, "eos"); err != nil {
			return nil, err
		}
		single = append(single, sp(eos, 0))
		pair = append(pair, sp(eos, 0))
	}
	if v.AddBOS {
		pair = append(pair, sp(bos, 1))
	}
	pair = append(pair, seq("B", 1))
	if v.AddEOS {
		pair = append(pair, sp(eos, 1))
	}
	return obj{"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": special}, nil
}
