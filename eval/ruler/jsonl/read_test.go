package jsonl

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const goodSample = `{"index": 3, "input": "Some text.", "outputs": ["42"], "length": 17, "length_w_model_temp": 17, "answer_prefix": " The answer is", "token_position_answer": 2}`

func TestParseSamplesReadsEveryField(t *testing.T) {
	got, err := ParseSamples(strings.NewReader(goodSample+"\n"), "x.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want := []Sample{{Index: 3, Input: "Some text.", Outputs: []string{"42"}, Length: 17, LengthWithModelTemplate: 17,
		AnswerPrefix: " The answer is", TokenPositionAnswer: 2, Others: map[string]any{}, Truncation: -1}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if p := got[0].Prompt(); p != "Some text. The answer is" {
		t.Fatalf("Prompt = %q", p)
	}
}

func TestParseSamplesDefaultsOptionalFieldsAsCallAPI(t *testing.T) {
	// vt.py without final_output writes only index, input, outputs, length;
	// call_api.py defaults the rest.
	got, err := ParseSamples(strings.NewReader(`{"index":0,"input":"a","outputs":["b"],"new_field":[1,{"x":2}]}`), "x.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	s := got[0]
	if s.Length != -1 || s.LengthWithModelTemplate != -1 || s.TokenPositionAnswer != -1 || s.Truncation != -1 || s.AnswerPrefix != "" || len(s.Others) != 0 {
		t.Fatalf("defaults: %+v", s)
	}
}

func TestParseSamplesSkipsBlankLinesLikeReadManifest(t *testing.T) {
	in := "\n  \n" + goodSample + "\r\n\t\n" + strings.Replace(goodSample, `"index": 3`, `"index": 4`, 1) // no final newline
	got, err := ParseSamples(strings.NewReader(in), "x.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Index != 3 || got[1].Index != 4 {
		t.Fatalf("got %+v", got)
	}
}

func TestParseSamplesErrorsNameFileLineAndField(t *testing.T) {
	line2 := func(s string) string { return goodSample + "\n" + s + "\n" }
	tests := []struct {
		name, in string
		line     int
		field    string
		msg      string
	}{
		{"empty file", "", 0, "", "no samples"},
		{"only blank lines", "\n \n", 0, "", "no samples"},
		{"not json", line2(`{"index": 1,`), 2, "", "not valid JSON"},
		{"array line", line2(`[1,2]`), 2, "", "want a JSON object, got an array"},
		{"missing index", line2(`{"input":"a","outputs":["b"]}`), 2, "index", "missing"},
		{"missing input", line2(`{"index":1,"outputs":["b"]}`), 2, "input", "missing"},
		{"missing outputs", line2(`{"index":1,"input":"a"}`), 2, "outputs", "missing"},
		{"index is a string", line2(`{"index":"1","input":"a","outputs":["b"]}`), 2, "index", "want an integer, got a string"},
		{"index is fractional", line2(`{"index":1.5,"input":"a","outputs":["b"]}`), 2, "index", "want an integer, got 1.5"},
		{"index is null", line2(`{"index":null,"input":"a","outputs":["b"]}`), 2, "index", "want an integer, got null"},
		{"index too large", line2(`{"index":99999999999999999999,"input":"a","outputs":["b"]}`), 2, "index", "want an integer"},
		{"negative index", line2(`{"index":-1,"input":"a","outputs":["b"]}`), 2, "index", "negative (-1)"},
		{"input is a number", line2(`{"index":1,"input":5,"outputs":["b"]}`), 2, "input", "want a string, got the number 5"},
		{"outputs is a string", line2(`{"index":1,"input":"a","outputs":"b"}`), 2, "outputs", "want an array of strings, got a string"},
		{"outputs empty", line2(`{"index":1,"input":"a","outputs":[]}`), 2, "outputs", "empty"},
		{"outputs holds null", line2(`{"index":1,"input":"a","outputs":["b",null]}`), 2, "outputs", "item 1: want a string, got null"},
		{"outputs holds number", line2(`{"index":1,"input":"a","outputs":[7]}`), 2, "outputs", "item 0: want a string, got the number 7"},
		{"length is a string", line2(`{"index":1,"input":"a","outputs":["b"],"length":"10"}`), 2, "length", "want an integer, got a string"},
		{"answer_prefix is a list", line2(`{"index":1,"input":"a","outputs":["b"],"answer_prefix":[]}`), 2, "answer_prefix", "want a string, got an array"},
		{"others is a list", line2(`{"index":1,"input":"a","outputs":["b"],"others":[]}`), 2, "others", "want an object, got an array"},
		{"invalid utf-8", line2("{\"index\":1,\"input\":\"\xff\",\"outputs\":[\"b\"]}"), 2, "", "not valid UTF-8"},
		{"field names are case-sensitive", line2(`{"Index":1,"input":"a","outputs":["b"]}`), 2, "index", "missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSamples(strings.NewReader(tc.in), "data/validation.jsonl")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.File != "data/validation.jsonl" || e.Line != tc.line || e.Field != tc.field || !strings.Contains(e.Msg, tc.msg) {
				t.Fatalf("err = %#v\nwant line %d field %q msg containing %q", e, tc.line, tc.field, tc.msg)
			}
			if !strings.Contains(err.Error(), "data/validation.jsonl") {
				t.Fatalf("message %q does not name the file", err)
			}
		})
	}
}

func TestParseSamplesKeepsRepeatedIndicesAsRULERWritesThem(t *testing.T) {
	in := goodSample + "\n" + strings.Replace(goodSample, `["42"]`, `["43"]`, 1) + "\n"
	got, err := ParseSamples(strings.NewReader(in), "niah.jsonl")
	if err != nil || len(got) != 2 || got[0].Index != got[1].Index || got[1].Outputs[0] != "43" {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestParseSamplesRefusesOverlongLine(t *testing.T) {
	defer func(n int) { maxLineBytes = n }(maxLineBytes)
	maxLineBytes = 1 << 17 // two bufio buffers: the line is read in pieces
	big := `{"index":0,"input":"` + strings.Repeat("a", maxLineBytes) + `","outputs":["b"]}`
	fits := `{"index":0,"input":"` + strings.Repeat("a", maxLineBytes-40) + `","outputs":["b"]}`
	if _, err := ParseSamples(strings.NewReader(fits+"\n"), "fits.jsonl"); err != nil {
		t.Fatalf("a line under the bound: %v", err)
	}
	_, err := ParseSamples(strings.NewReader(goodSample+"\n"+big+"\n"), "big.jsonl")
	var e *Error
	if !errors.As(err, &e) || e.Line != 2 || !strings.Contains(e.Msg, "longer than") {
		t.Fatalf("err = %v", err)
	}
}

func TestReadSamplesMissingFile(t *testing.T) {
	_, err := ReadSamples(filepath.Join(t.TempDir(), "nope.jsonl"))
	if err == nil || !strings.Contains(err.Error(), "nope.jsonl") {
		t.Fatalf("err = %v", err)
	}
}

// TestReadsPrepareOutput reads files RULER's own prepare.py wrote (NVIDIA/RULER
// c3f5e3b, SmolLM2's tokenizer, max_seq_length 1024, 2 samples per task; see
// bench/ruler/README.md), and checks them against facts of RULER's
// generators: the answers occur in the input, and niah's index is the
// character offset of the first answer.
func TestReadsPrepareOutput(t *testing.T) {
	files, err := ListData("testdata/prepare")
	if err != nil {
		t.Fatal(err)
	}
	var tasks []string
	for _, f := range files {
		if f.Length != 1024 {
			t.Errorf("%s: length %d", f.Path, f.Length)
		}
		tasks = append(tasks, f.Task)
		samples, err := ReadSamples(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if len(samples) != 2 {
			t.Fatalf("%s: %d samples", f.Path, len(samples))
		}
		for _, s := range samples {
			if s.Length <= 0 || s.Length > 1024 || s.AnswerPrefix == "" {
				t.Errorf("%s index %d: length %d prefix %q", f.Task, s.Index, s.Length, s.AnswerPrefix)
			}
			for _, o := range s.Outputs {
				if f.Task != "fwe" && !strings.Contains(s.Input, o) { // fwe's answers are coded words spread through the text
					t.Errorf("%s index %d: answer %q not in the input", f.Task, s.Index, o)
				}
			}
			if strings.HasPrefix(f.Task, "niah") {
				if got := strings.Index(s.Input, s.Outputs[0]); got != s.Index || s.TokenPositionAnswer <= 0 {
					t.Errorf("%s: index %d, answer at byte %d, token position %d", f.Task, s.Index, got, s.TokenPositionAnswer)
				}
			}
		}
	}
	want := []string{"cwe", "fwe", "niah_multikey_2", "niah_multikey_3", "niah_single_1", "vt"}
	if !reflect.DeepEqual(tasks, want) {
		t.Fatalf("tasks %v, want %v", tasks, want)
	}
}

func TestListDataOrdersByLengthThenTaskAndSkipsOtherDirs(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"8192/data/vt", "1024/data/vt", "1024/data/cwe", "logs/data/vt", "0/data/vt"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p, "validation.jsonl"), []byte(goodSample), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(dir, "2048/data/qa_1"), 0o755) // no file: not listed
	got, err := ListData(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range got {
		names = append(names, filepath.ToSlash(strings.TrimPrefix(f.Path, dir)))
	}
	want := []string{"/1024/data/cwe/validation.jsonl", "/1024/data/vt/validation.jsonl", "/8192/data/vt/validation.jsonl"}
	if !reflect.DeepEqual(names, want) || got[2].Length != 8192 || got[2].Task != "vt" {
		t.Fatalf("got %v %+v", names, got)
	}
}

func TestListDataEmptyOrMissing(t *testing.T) {
	if _, err := ListData(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no <length>/data/<task>/validation.jsonl") {
		t.Fatalf("empty dir: %v", err)
	}
	if _, err := ListData("/nonexistent/ruler"); err == nil || !strings.Contains(err.Error(), "/nonexistent/ruler") {
		t.Fatalf("missing dir: %v", err)
	}
}

func TestParsePredictionsAsEvaluateReadsThem(t *testing.T) {
	in := `{"index": 0, "pred": " 123", "input": "q a", "outputs": ["123"], "others": {}, "truncation": -1, "length": 20}
{"index": 1, "pred": "x", "input": "q", "others": {"id": 9}, "output": "ref"}
{"index": 2, "pred": "", "input": "q", "others": {}}
`
	got, err := ParsePredictions(strings.NewReader(in), "p.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Length != 20 || !reflect.DeepEqual(got[1].Outputs, []string{"ref"}) ||
		!reflect.DeepEqual(got[2].Outputs, []string{""}) || got[2].Truncation != -1 || got[1].Others["id"] != 9.0 {
		t.Fatalf("got %+v", got)
	}
	if p, err := ParsePredictions(strings.NewReader(""), "p.jsonl"); err != nil || len(p) != 0 {
		t.Fatalf("empty: %v %v", p, err)
	}
}

func TestParsePredictionsErrors(t *testing.T) {
	tests := []struct {
		name, in, field, msg string
	}{
		{"missing pred", `{"index":0,"input":"q","outputs":["a"],"others":{}}`, "pred", "missing"},
		{"pred is null", `{"index":0,"pred":null,"input":"q","outputs":["a"],"others":{}}`, "pred", "want a string, got null"},
		{"missing others", `{"index":0,"pred":"","input":"q","outputs":["a"]}`, "others", "missing"},
		{"missing input", `{"index":0,"pred":"","outputs":["a"],"others":{}}`, "input", "missing"},
		{"torn line", "{\"index\":0,\"pred\":\"\",\"input\":\"q\",\"outputs\":[\"a\"],\"others\":{}}\n{\"index\":1,\"pr", "", "not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePredictions(strings.NewReader(tc.in), "pred/vt.jsonl")
			var e *Error
			if !errors.As(err, &e) || e.Field != tc.field || !strings.Contains(e.Msg, tc.msg) || e.File != "pred/vt.jsonl" {
				t.Fatalf("err = %v, want field %q msg %q", err, tc.field, tc.msg)
			}
		})
	}
}
