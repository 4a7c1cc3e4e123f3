package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// StreamDecoder turns ids arriving one at a time into text, for printing generated tokens.
// The text returned by successive Add calls, followed by Flush, concatenates to Decode of
// all ids. Add holds back text while it ends in an incomplete UTF-8 sequence (a character
// split across byte tokens), so it never returns a partial character.
//
// It decodes a short window: the ids since the last point where output was emitted (the
// prefix) plus the new ones, and returns what the window adds beyond the prefix's text, as
// HF's DecodeStream does. If the window's text does not extend the prefix's text (a decoder
// that treats the first token specially could cause that) it falls back to decoding all ids.
type StreamDecoder struct {
	t       *Tokenizer
	opt     DecodeOptions
	ids     []int  // every id added so far
	emitted int    // bytes of Decode(ids) returned so far
	start   int    // window start in ids
	mid     int    // ids[start:mid] is the prefix
	prefix  string // decode of ids[start:mid]
}

// NewDecoder returns a streaming decoder that keeps special tokens, like Decode.
func (t *Tokenizer) NewDecoder() *StreamDecoder { return t.NewDecoderWith(DecodeOptions{}) }

// NewDecoderWith returns a streaming decoder with the given options.
func (t *Tokenizer) NewDecoderWith(opt DecodeOptions) *StreamDecoder {
	return &StreamDecoder{t: t, opt: opt}
}

// incomplete reports whether s ends in U+FFFD, which the lossy decoders produce for a
// character whose bytes have not all arrived yet.
func incomplete(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r == utf8.RuneError
}

// Add appends one id and returns the new complete text ("" if none yet).
func (d *StreamDecoder) Add(id int) string {
	d.ids = append(d.ids, id)
	window := d.t.DecodeWith(d.ids[d.start:], d.opt)
	if len(window) <= len(d.prefix) || incomplete(window) {
		return ""
	}
	var out string
	if strings.HasPrefix(window, d.prefix) {
		out = window[len(d.prefix):]
	} else {
		all := d.t.DecodeWith(d.ids, d.opt)
		if len(all) < d.emitted || incomplete(all) {
			return ""
		}
		out = all[d.emitted:]
	}
	d.emitted += len(out)
	d.start, d.mid = d.mid, len(d.ids)
	d.prefix = d.t.DecodeWith(d.ids[d.start:d.mid], d.opt)
	return out
}

// Flush returns whatever Decode of all ids has beyond the text returned so far (for
// example U+FFFD for a byte sequence that never completed) and resets the decoder.
func (d *StreamDecoder) Flush() string {
	all := d.t.DecodeWith(d.ids, d.opt)
	out := ""
	if len(all) > d.emitted {
		out = all[d.emitted:]
	}
	*d = StreamDecoder{t: d.t, opt: d.opt}
	return out
}
