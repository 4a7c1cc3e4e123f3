package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hwChildEnv carries the arguments of a `starc hw` run to the child process
// of the resource tests (one per line): the child is this test binary, so
// the parent measures the run's own peak memory (ru_maxrss) and wall time.
const hwChildEnv = "STARC_HW_RESOURCE_ARGS"

// TestHWResourceChild is the child: it runs the CLI and exits with its code.
func TestHWResourceChild(t *testing.T) {
	args := os.Getenv(hwChildEnv)
	if args == "" {
		t.Skip("child process of TestHWResourceBounds")
	}
	code := run(context.Background(), strings.Split(args, "\n"), &env{stdout: os.Stdout, stderr: os.Stderr, stdin: strings.NewReader("")})
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				fmt.Fprintf(os.Stderr, "\n%s%s\n", peakPrefix, strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")))
			}
		}
	}
	os.Exit(code)
}

// peakPrefix starts the line on which the child reports its own peak
// resident memory (VmHWM, KiB). ru_maxrss cannot serve: Linux keeps a
// process's high-water mark across execve, so a child of a test process
// that once held SmolLM2 would report the parent's peak.
const peakPrefix = "starc-test-peak-rss-kib: "

// hwChild runs `starc args...` in a child process and returns its exit code,
// stderr, wall time and peak resident memory in bytes.
func hwChild(t *testing.T, args ...string) (code int, stderr string, wall time.Duration, maxRSS int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHWResourceChild$")
	cmd.Env = append(os.Environ(), hwChildEnv+"="+strings.Join(args, "\n"))
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = nil, &errb
	start := time.Now()
	err := cmd.Run()
	wall = time.Since(start)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	stderr = errb.String()
	if i := strings.LastIndex(stderr, "\n"+peakPrefix); i >= 0 {
		kb, err := strconv.ParseInt(strings.TrimSpace(stderr[i+1+len(peakPrefix):]), 10, 64)
		if err != nil {
			t.Fatalf("child's peak line: %v", err)
		}
		return cmd.ProcessState.ExitCode(), stderr[:i], wall, kb << 10
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Skip("no peak memory figure on this platform")
	}
	return cmd.ProcessState.ExitCode(), stderr, wall, ru.Maxrss << 10 // Linux: KiB
}

// A config.json whose shape would take unbounded memory or time is refused
// at the field, within 2 s and 200 MB; so are an Lout and a batch past their
// bounds (a runtime error from package system, or a usage error from the
// flag layer: exit 1 or 2).
func TestHWResourceBounds(t *testing.T) {
	dir := t.TempDir()
	config := func(name, fields string) string {
		p := filepath.Join(dir, name)
		body := `{"model_type":"llama","hidden_size":4096,"num_hidden_layers":32,"num_attention_heads":32,` +
			`"num_key_value_heads":8,"intermediate_size":14336,"vocab_size":32000` + fields + `}`
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const limitRSS, limitWall = 200 << 20, 2 * time.Second
	for _, tc := range []struct {
		name string
		args []string
		want string // in the error message
	}{
		{"intermediate_size 2^63-1", []string{"--model", config("ffn.json", `,"intermediate_size":9223372036854775807`)}, `"intermediate_size": must be in 1..1048576`},
		{"hidden_size 2^62", []string{"--model", config("hidden.json", `,"hidden_size":4611686018427387904`)}, `"hidden_size": must be in 1..262144`},
		{"num_hidden_layers 2^40", []string{"--model", config("layers.json", `,"num_hidden_layers":1099511627776`)}, `"num_hidden_layers": must be in 1..4096`},
		{"Lout past the bound", []string{"--lout", "4194306", "--lin", "0", "--batch", "1"}, "4194306"},
		{"batch 2^40", []string{"--batch", "1099511627776"}, "batch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stderr, wall, rss := hwChild(t, append([]string{"hw"}, tc.args...)...)
			if (code != 1 && code != 2) || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 or 2 and a message containing %q", code, stderr, tc.want)
			}
			if wall > limitWall || rss > limitRSS {
				t.Errorf("took %v and %d MB, limits %v and %d MB", wall, rss>>20, limitWall, limitRSS>>20)
			}
		})
	}
}

// TestHWLongestRunBoundedMemory: the longest run hw accepts (Lout 2^22+1,
// 4 194 304 decode steps, 262 144 distinct row counts under full attention)
// keeps no per-step rows, so it stays under 200 MB.
func TestHWLongestRunBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("4 million decode steps (several seconds) skipped in -short")
	}
	code, stderr, wall, rss := hwChild(t, "hw", "--lout", "4194305", "--lin", "0", "--batch", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	t.Logf("hw --lout 4194305 --lin 0 --batch 1: %v, peak RSS %d MB", wall, rss>>20)
	if rss > 200<<20 {
		t.Errorf("peak RSS %d MB, want under 200 MB", rss>>20)
	}
}

// TestHWStopsOnCancel: hw honours its context inside the step loop.
func TestHWStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	var out, errb bytes.Buffer
	start := time.Now()
	code := run(ctx, []string{"hw", "--lout", "4194305", "--lin", "0", "--batch", "1"}, &env{stdout: &out, stderr: &errb, stdin: strings.NewReader("")})
	if took := time.Since(start); took > 200*time.Millisecond+time.Second {
		t.Errorf("stopped %v after the cancel, want within 1 s", took-200*time.Millisecond)
	}
	if code == 0 || !strings.Contains(errb.String(), "context canceled") {
		t.Errorf("exit %d, stderr %q; want an error naming the cancellation", code, errb.String())
	}
}
