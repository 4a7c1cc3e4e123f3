package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"starc/model"
)

// storyText writes n repetitions of a stories-like paragraph.
func storyText(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "story.txt")
	os.WriteFile(path, []byte(strings.Repeat("Once upon a time, there was a little girl named Lily. She loved to play outside. ", n)), 0o644)
	return path
}

// Profiles follow the rules of every output file: written (atomically) only
// when the command succeeds, an existing file kept when it fails.
func TestProfilesWrittenOnlyOnSuccess(t *testing.T) {
	dir := stories(t)
	tmp := t.TempDir()
	cpu, mem := filepath.Join(tmp, "cpu.pprof"), filepath.Join(tmp, "mem.pprof")
	os.WriteFile(cpu, []byte("old"), 0o644)
	os.WriteFile(mem, []byte("old"), 0o644)
	// A runtime failure (the context is too short for the prompt).
	code, _, stderr := runStarc(t, "generate", "-m", dir, "-p", strings.Repeat("Once upon a time ", 50), "--ctx", "16",
		"-cpuprofile", cpu, "-memprofile", mem)
	if code != 1 || !strings.Contains(stderr, "profiles not written") {
		t.Fatalf("failing run: exit %d, stderr %q", code, stderr)
	}
	for _, p := range []string{cpu, mem} {
		if data, _ := os.ReadFile(p); string(data) != "old" {
			t.Errorf("%s was overwritten by a failed run", filepath.Base(p))
		}
	}
	code, _, stderr = runStarc(t, "generate", "-m", dir, "-p", "Once", "-n", "4", "--threads", "1", "-cpuprofile", cpu, "-memprofile", mem)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, p := range []string{cpu, mem} {
		if data, _ := os.ReadFile(p); !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) { // pprof profiles are gzipped protobufs
			t.Errorf("%s is not a profile: %.20q", filepath.Base(p), data)
		}
	}
	if left := leftovers(t, tmp); len(left) > 0 {
		t.Errorf("temporaries left: %v", left)
	}
}

// Flags the model cannot honour are refused once it is loaded, naming the flag.
func TestFlagsBeyondTheModel(t *testing.T) {
	dir := stories(t) // 5 layers, head_dim 8, 2048 positions
	text := storyText(t, 4)
	cases := []struct {
		args []string
		flag string
	}{
		{[]string{"generate", "-m", dir, "-p", "Once", "--method", "starc", "--budget", "8", "--dense-layers", "6"}, "--dense-layers 6"},
		{[]string{"generate", "-m", dir, "-p", "Once", "--method", "sparq", "--budget", "8", "--sparq-rank", "9"}, "--sparq-rank 9"},
		{[]string{"ppl", "-m", dir, "-f", text, "--ctx", "4096"}, "--ctx 4096"},
		{[]string{"sweep", "-m", dir, "-f", text, "--max-tokens", "4096"}, "--max-tokens 4096"},
	}
	for _, tc := range cases {
		code, _, stderr := runStarc(t, tc.args...)
		if code != 2 || !strings.Contains(lastLine(stderr), tc.flag) {
			t.Errorf("starc %q: exit %d, last line %q; want exit 2 naming %s", tc.args, code, lastLine(stderr), tc.flag)
		}
	}
}

// -p -, --prompt-file and -p give the same greedy continuation.
func TestPromptSources(t *testing.T) {
	dir := stories(t)
	file := filepath.Join(t.TempDir(), "prompt.txt")
	os.WriteFile(file, []byte("Once upon a time"), 0o644)
	gen := func(stdin string, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		args = append([]string{"generate", "-m", dir, "-n", "16", "--threads", "1"}, args...)
		if code := run(context.Background(), args, &env{stdout: &out, stderr: &errb, stdin: strings.NewReader(stdin)}); code != 0 {
			t.Fatalf("starc %q: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	want := gen("", "-p", "Once upon a time")
	if got := gen("Once upon a time", "-p", "-"); got != want {
		t.Errorf("-p - gives %q, -p gives %q", got, want)
	}
	if got := gen("", "--prompt-file", file); got != want {
		t.Errorf("--prompt-file gives %q, -p gives %q", got, want)
	}
	if code, _, stderr := runStarc(t, "generate", "-m", dir, "-p", "-"); code != 1 || !strings.Contains(stderr, "stdin") {
		t.Errorf("empty stdin: exit %d, stderr %q", code, stderr)
	}
}

var announced = regexp.MustCompile(`(\d+) tokens to score`)

// ppl says before the run how many tokens it will score, and scores exactly
// that many; a --max-tokens the text cannot honour is refused.
func TestPPLAnnouncesWhatItScores(t *testing.T) {
	dir := stories(t)
	text := storyText(t, 12) // about 250 tokens
	for _, args := range [][]string{
		{"--protocol", "stream", "--max-tokens", "100"},
		{"--protocol", "stream"},
		{"--protocol", "stream", "--ctx", "64"},
		{"--ctx", "64"},
	} {
		code, out, stderr := runStarc(t, append([]string{"ppl", "-m", dir, "-f", text, "--json", "--threads", "1"}, args...)...)
		if code != 0 {
			t.Fatalf("ppl %q: exit %d: %s", args, code, stderr)
		}
		m := announced.FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("ppl %q announced nothing: %s", args, stderr)
		}
		var res struct {
			TokensScored int `json:"tokens_scored"`
		}
		json.Unmarshal([]byte(out), &res)
		if want, _ := strconv.Atoi(m[1]); res.TokensScored != want {
			t.Errorf("ppl %q announced %d tokens, scored %d", args, want, res.TokensScored)
		}
	}
	code, _, stderr := runStarc(t, "ppl", "-m", dir, "-f", text, "--protocol", "stream", "--max-tokens", "1000")
	if code != 1 || !strings.Contains(stderr, "--max-tokens 1000") {
		t.Errorf("--max-tokens beyond the text: exit %d, stderr %q", code, stderr)
	}
}

// A sweep stopped after its first row keeps the finished rows, on stdout
// and in --out: one run at a time (--batch 1) and in batches of two, where
// the first batch's two rows are finished before the stop.
func TestSweepKeepsFinishedRows(t *testing.T) {
	dir := stories(t)
	text := storyText(t, 30)
	for _, batch := range []int{1, 2} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "rows.json")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { // stop the sweep as soon as the first row is written
				for ctx.Err() == nil {
					if _, err := os.Stat(out); err == nil {
						cancel()
						return
					}
					time.Sleep(time.Millisecond)
				}
			}()
			var stdout, stderr bytes.Buffer
			args := []string{"sweep", "-m", dir, "-f", text, "--max-tokens", "300", "--threads", "1",
				"--methods", "full, starc, topk", "--budgets", "32, 64", "--batch", fmt.Sprint(batch), "--out", out}
			code := run(ctx, args, &env{stdout: &stdout, stderr: &stderr, stdin: strings.NewReader("")})
			if code != 1 {
				t.Fatalf("exit %d, want 1 (stopped); stderr:\n%s", code, stderr.String())
			}
			var rows []map[string]any
			data, _ := os.ReadFile(out)
			if err := json.Unmarshal(data, &rows); err != nil || len(rows) < batch || len(rows) == 5 {
				t.Fatalf("--out holds %d rows (%v), want the finished ones of 5 (at least %d): %s", len(rows), err, batch, data)
			}
			if got := strings.Count(stdout.String(), "\n| "); got != len(rows) {
				t.Errorf("stdout has %d table rows, --out %d:\n%s", got, len(rows), stdout.String())
			}
			if !strings.Contains(stderr.String(), "5 runs") || !strings.Contains(stderr.String(), "finished rows") {
				t.Errorf("stderr does not announce the runs and the kept rows:\n%s", stderr.String())
			}
		})
	}
}

// A prompt of several prefill blocks, prefilled one block at a time to
// report progress, gives the tokens of a single prefill call.
func TestGenerateBlockwisePrefillSameTokens(t *testing.T) {
	dir := stories(t)
	promptFile := storyText(t, 40) // about 1000 tokens: two blocks of 512
	code, out, stderr := runStarc(t, "generate", "-m", dir, "--prompt-file", promptFile, "-n", "24", "--threads", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	l, err := loadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	text, _ := os.ReadFile(promptFile)
	ids, err := l.encode(context.Background(), string(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) <= 512 {
		t.Fatalf("prompt of %d tokens fits one block", len(ids))
	}
	st, err := model.NewState(l.model, model.StateOptions{MaxTokens: len(ids) + 24, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dec := l.tok.NewDecoder()
	var want strings.Builder
	_, err = model.Generate(context.Background(), l.model, st, ids, model.GenerateOptions{MaxNew: 24, Stop: l.model.Config.EOS},
		func(id int) error { want.WriteString(dec.Add(id)); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want.WriteString(dec.Flush())
	if strings.TrimSuffix(out, "\n") != want.String() {
		t.Errorf("blockwise prefill: %q\nsingle prefill: %q", out, want.String())
	}
}
