package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"starc/internal/testenv"
)

// runStarc runs one command line in-process.
func runStarc(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &env{stdout: &out, stderr: &errb, stdin: strings.NewReader("")})
	return code, out.String(), errb.String()
}

var (
	storiesOnce sync.Once
	storiesDir  string
)

// TestMain removes what the tests share across the package: the converted
// stories260K and the built binary.
func TestMain(m *testing.M) {
	code := m.Run()
	if storiesDir != "" {
		os.RemoveAll(filepath.Dir(storiesDir))
	}
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// stories converts the stories260K GGUF with the CLI, once.
func stories(t *testing.T) string {
	t.Helper()
	gguf := testenv.Shared(t, "models/stories260K/stories260K.gguf")
	storiesOnce.Do(func() {
		dir, err := os.MkdirTemp("", "starc-cli-test-")
		if err != nil {
			t.Fatal(err)
		}
		storiesDir = filepath.Join(dir, "stories")
		if code, _, stderr := runStarc(t, "convert", "--dtype", "f32", gguf, storiesDir); code != 0 {
			t.Fatalf("convert exit %d: %s", code, stderr)
		}
	})
	if storiesDir == "" {
		t.Fatal("stories conversion failed earlier")
	}
	return storiesDir
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"help", "generate"}, {"generate", "-h"}, {"ppl", "--help"}, {"convert", "-h"}} {
		code, out, _ := runStarc(t, args...)
		if code != 0 || !strings.Contains(out, "usage") && !strings.Contains(out, "Usage") {
			t.Errorf("starc %v: exit %d, output %q", args, code, out)
		}
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	cases := [][]string{
		{},
		{"frobnicate"},
		{"generate", "--no-such-flag"},
		{"generate", "-m", "x"}, // no prompt
		{"generate", "-m", "x", "-p", "hi", "-n", "-1"},         // negative count
		{"convert", "only-one-arg"},                             // missing OUT_DIR
		{"convert", "--dtype", "q4", "a.gguf", "out"},           // bad dtype
		{"ppl", "-m", "x"},                                      // no file
		{"ppl", "-m", "x", "-f", "y", "--protocol", "sideways"}, // bad protocol
	}
	for _, args := range cases {
		if code, _, stderr := runStarc(t, args...); code != 2 {
			t.Errorf("starc %q: exit %d, want 2 (stderr %q)", args, code, stderr)
		}
	}
}

func TestGenerateStoriesGreedy(t *testing.T) {
	dir := stories(t)
	statsFile := filepath.Join(t.TempDir(), "stats.json")
	code, out, stderr := runStarc(t, "generate", "-m", dir, "-p", "Once upon a time", "-n", "64", "--threads", "2", "--stats", statsFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// llama.cpp's greedy continuation (../shared/golden/stories260K.json).
	want := ", there was a little girl named Lily. She loved to play outside in the park."
	if !strings.HasPrefix(out, want) {
		t.Errorf("output %q does not start with %q", out, want)
	}
	var stats map[string]any
	data, err := os.ReadFile(statsFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &stats); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"prompt_tokens", "generated_tokens", "prefill_tok_s", "decode_tok_s"} {
		if _, ok := stats[k]; !ok {
			t.Errorf("stats JSON lacks %q: %s", k, data)
		}
	}
	if stats["prompt_tokens"] != 5.0 || stats["generated_tokens"] != 64.0 {
		t.Errorf("stats = %s", data)
	}
}

func TestRuntimeErrorsExit1(t *testing.T) {
	dir := stories(t)
	bad := filepath.Join(t.TempDir(), "bad.gguf")
	os.WriteFile(bad, []byte("GGUX\x03\x00\x00\x00"), 0o644)
	empty := filepath.Join(t.TempDir(), "empty.txt")
	os.WriteFile(empty, nil, 0o644)
	out := filepath.Join(t.TempDir(), "out")
	cases := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"missing model dir", []string{"generate", "-m", filepath.Join(t.TempDir(), "nope"), "-p", "hi"}, "nope"},
		{"bad GGUF magic", []string{"convert", bad, out}, "bad.gguf"},
		{"prompt longer than context", []string{"generate", "-m", dir, "-p", strings.Repeat("Once upon a time ", 200), "--ctx", "64"}, "context"},
		{"empty text", []string{"ppl", "-m", dir, "-f", empty}, "empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runStarc(t, tc.args...)
			if code != 1 || !strings.HasPrefix(stderr, "starc: ") || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and a message naming %q", code, stderr, tc.want)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed convert left %s behind", out)
	}
}

func TestConvertKeepsExistingOutput(t *testing.T) {
	gguf := testenv.Shared(t, "models/stories260K/stories260K.gguf")
	out := t.TempDir() // exists
	keep := filepath.Join(out, "precious.txt")
	os.WriteFile(keep, []byte("mine"), 0o644)
	if code, _, _ := runStarc(t, "convert", gguf, out); code != 1 {
		t.Errorf("convert onto an existing directory: exit %d, want 1", code)
	}
	if data, err := os.ReadFile(keep); err != nil || string(data) != "mine" {
		t.Errorf("the user's file was lost: %v", err)
	}
}

func TestWriteFileAtomicModes(t *testing.T) {
	dir := t.TempDir()
	fresh, kept := filepath.Join(dir, "fresh.json"), filepath.Join(dir, "kept.json")
	os.WriteFile(kept, []byte("old"), 0o600)
	os.Chmod(kept, 0o640)
	for _, p := range []string{fresh, kept} {
		if err := writeFileAtomic(p, []byte("new")); err != nil {
			t.Fatal(err)
		}
	}
	for p, want := range map[string]os.FileMode{fresh: 0o644, kept: 0o640} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(p), fi.Mode().Perm(), want)
		}
		if data, _ := os.ReadFile(p); string(data) != "new" {
			t.Errorf("%s holds %q", filepath.Base(p), data)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("temporary files left behind: %d entries", len(entries))
	}
}

// A sparse run's access trace turns into a kv_budget table (one line per
// decode step) and replays on a 7B configuration.
func TestTraceToBudgetTableToHW(t *testing.T) {
	dir := stories(t)
	text := filepath.Join(t.TempDir(), "story.txt")
	os.WriteFile(text, []byte(strings.Repeat("Once upon a time, there was a little girl named Lily. She loved to play outside. ", 12)), 0o644)
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	code, _, stderr := runStarc(t, "ppl", "-m", dir, "-f", text, "--protocol", "stream", "--max-tokens", "100",
		"--method", "starc", "--budget", "32", "--ctx", "256", "--trace", trace)
	if code != 0 {
		t.Fatalf("ppl: exit %d: %s", code, stderr)
	}
	code, out, stderr := runStarc(t, "trace", "budget-table", trace, "--from-layer", "2") // flags may follow the arguments
	if code != 0 {
		t.Fatalf("trace budget-table: exit %d: %s", code, stderr)
	}
	lines := strings.Fields(out)
	if len(lines) != 99 { // 100 predictions: the first comes from the prefill, 99 from decode steps
		t.Fatalf("%d budget lines, want 99", len(lines))
	}
	// Each value is 16 × mean rows read over the sparse layers: positive and
	// at most the 16-slot rows of the whole context (≤ 101 tokens → 7 rows).
	for _, l := range lines {
		if v, err := strconv.Atoi(l); err != nil || v <= 0 || v > 16*7 {
			t.Fatalf("budget line %q outside 1..112", l)
		}
	}
	if code, _, stderr := runStarc(t, "hw", "--model", "llama-3.1-8b", "--lout", "100", "--trace", trace, "--csv"); code != 0 {
		t.Fatalf("hw --trace: exit %d: %s", code, stderr)
	}
}
