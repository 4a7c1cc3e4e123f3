package jsonl

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// MaxLineBytes bounds one JSONL line. A RULER sample at 128K tokens is
// about 0.6 MB (prediction lines repeat the input); 64 MiB leaves room for
// million-token prompts while keeping a corrupt file from exhausting memory.
const MaxLineBytes = 64 << 20

// maxLineBytes is the bound in force (tests lower it).
var maxLineBytes = MaxLineBytes

// Error is a malformed line: the file, the 1-based line number, the field at
// fault (empty when the line as a whole is) and what is wrong.
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("jsonl: %s:%d: field %q: %s", e.File, e.Line, e.Field, e.Msg)
	}
	if e.Line > 0 {
		return fmt.Sprintf("jsonl: %s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("jsonl: %s: %s", e.File, e.Msg)
}

// lineReader yields the lines of a stream with their numbers and the byte
// offset just past the last complete (newline-terminated) line.
type lineReader struct {
	r    *bufio.Reader
	name string
	buf  []byte
	num  int   // 1-based number of the line last returned
	end  int64 // offset just past the last '\n' read
	pos  int64 // offset of the next byte to read
}

func newLineReader(r io.Reader, name string) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 1<<16), name: name}
}

// next returns the next line without its newline; complete reports whether
// it ended with '\n' (false only for a final unterminated line). io.EOF
// comes after the last line.
func (lr *lineReader) next() (line []byte, complete bool, err error) {
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if len(lr.buf)+len(chunk) > maxLineBytes+1 { // +1: the newline itself
			return nil, false, &Error{File: lr.name, Line: lr.num + 1, Msg: fmt.Sprintf("line longer than %d bytes", maxLineBytes)}
		}
		lr.buf = append(lr.buf, chunk...)
		lr.pos += int64(len(chunk))
		switch {
		case err == nil:
			lr.num++
			lr.end = lr.pos
			return lr.buf[:len(lr.buf)-1], true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(lr.buf) == 0 {
				return nil, false, io.EOF
			}
			lr.num++
			return lr.buf, false, nil
		default:
			return nil, false, fmt.Errorf("jsonl: %s: %w", lr.name, err)
		}
	}
}

// isPySpace is Python's str.isspace for one rune: Unicode White_Space plus
// the separators U+001C..U+001F, which Python also strips.
func isPySpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

// fields decodes one line into its top-level fields, or says the line is
// blank (skipped, as NeMo's read_manifest skips it).
func fields(line []byte, name string, num int) (map[string]json.RawMessage, bool, error) {
	line = bytes.TrimFunc(line, isPySpace)
	if len(line) == 0 {
		return nil, true, nil
	}
	if !utf8.Valid(line) {
		return nil, false, &Error{File: name, Line: num, Msg: "not valid UTF-8"}
	}
	if line[0] != '{' && json.Valid(line) {
		return nil, false, &Error{File: name, Line: num, Msg: "want a JSON object, got " + kind(line)}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return nil, false, &Error{File: name, Line: num, Msg: "not valid JSON: " + err.Error()}
	}
	return m, false, nil
}

// kind names the JSON type of a raw value for error messages.
func kind(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "the number " + truncate(string(raw), 40)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// decoder checks the fields of one line, naming file, line and field in
// every error.
type decoder struct {
	m    map[string]json.RawMessage
	name string
	num  int
}

func (d *decoder) fail(field, format string, args ...any) error {
	return &Error{File: d.name, Line: d.num, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) has(field string) bool { _, ok := d.m[field]; return ok }

// integer reads a JSON integer literal (no fraction or exponent); def when
// the field is absent and not required.
func (d *decoder) integer(field string, required bool, def int) (int, error) {
	raw, ok := d.m[field]
	if !ok {
		if required {
			return 0, d.fail(field, "missing")
		}
		return def, nil
	}
	s := string(bytes.TrimSpace(raw))
	v, err := strconv.ParseInt(s, 10, strconv.IntSize)
	if err != nil {
		if len(s) > 0 && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) {
			return 0, d.fail(field, "want an integer, got %s", truncate(s, 40))
		}
		return 0, d.fail(field, "want an integer, got %s", kind(raw))
	}
	return int(v), nil
}

func (d *decoder) str(field string, required bool) (string, error) {
	raw, ok := d.m[field]
	if !ok {
		if required {
			return "", d.fail(field, "missing")
		}
		return "", nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", d.fail(field, "want a string, got %s", kind(raw))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", d.fail(field, "%v", err)
	}
	return s, nil
}

// strings reads a non-empty array of strings (null entries are refused:
// evaluate.py cannot lower-case them).
func (d *decoder) strings(field string) ([]string, error) {
	raw, ok := d.m[field]
	if !ok {
		return nil, d.fail(field, "missing")
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return nil, d.fail(field, "want an array of strings, got %s", kind(raw))
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, d.fail(field, "%v", err)
	}
	if len(items) == 0 {
		return nil, d.fail(field, "empty: a sample needs at least one reference answer")
	}
	out := make([]string, len(items))
	for i, it := range items {
		it = bytes.TrimSpace(it)
		if len(it) == 0 || it[0] != '"' {
			return nil, d.fail(field, "item %d: want a string, got %s", i, kind(it))
		}
		if err := json.Unmarshal(it, &out[i]); err != nil {
			return nil, d.fail(field, "item %d: %v", i, err)
		}
	}
	return out, nil
}

// object reads a JSON object (null counts as absent, as call_api.py's
// data_point.get('others', {}) would pass it through and evaluate.py then
// fails; we refuse it instead).
func (d *decoder) object(field string, required bool) (map[string]any, error) {
	raw, ok := d.m[field]
	if !ok {
		if required {
			return nil, d.fail(field, "missing")
		}
		return map[string]any{}, nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, d.fail(field, "want an object, got %s", kind(raw))
	}
	var o map[string]any
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, d.fail(field, "%v", err)
	}
	return o, nil
}
