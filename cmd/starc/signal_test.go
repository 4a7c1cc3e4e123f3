package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"starc/internal/testenv"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// starcBinary builds the command once into a temporary directory.
func starcBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "starc-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "starc")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = err
			t.Logf("go build: %s", out)
		}
	})
	if binErr != nil {
		t.Fatalf("building starc: %v", binErr)
	}
	return binPath
}

// stderrWatch is a command's stderr that reports when a line containing
// marker has been written.
type stderrWatch struct {
	mu     sync.Mutex
	buf    strings.Builder
	marker string
	seen   chan struct{}
	once   sync.Once
}

func (w *stderrWatch) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	if strings.Contains(w.buf.String(), w.marker) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(b), nil
}

func (w *stderrWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// leftovers lists the temporary files and directories in dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") || strings.HasPrefix(e.Name(), ".starc-") {
			left = append(left, e.Name())
		}
	}
	return left
}

// SIGINT and SIGTERM in the middle of convert, hw, ppl and sweep, and while
// generate waits for a prompt on stdin: the
// process exits within a second with 128+signal, leaves no temporary file or
// directory, and the output files that existed are untouched (sweep's --out
// may instead hold the rows finished before the signal).
func TestSignalsStopEveryCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs four commands twice")
	}
	bin := starcBinary(t)
	stories := stories(t)
	text := testenv.Shared(t, "data/tinyshakespeare_first20000.txt")
	gguf := testenv.DefaultGGUF(t)
	const precious = "precious\n"
	cases := []struct {
		name   string
		args   func(dir string) []string
		marker string        // signal once stderr shows this
		delay  time.Duration // and this long after
		keep   string        // an existing output file, relative to dir
	}{
		{"convert", func(dir string) []string {
			return []string{"convert", "--force", gguf, filepath.Join(dir, "out")}
		}, "", 700 * time.Millisecond, "out/precious.txt"},
		{"generate waiting for stdin", func(dir string) []string {
			return []string{"generate", "-m", stories, "-p", "-", "--stats", filepath.Join(dir, "stats.json")}
		}, "", 300 * time.Millisecond, "stats.json"},
		{"hw", func(dir string) []string {
			return []string{"hw", "--lout", "4000000", "--lin", "0", "--batch", "1", "--csv", "--steps"}
		}, "", 700 * time.Millisecond, ""},
		{"ppl", func(dir string) []string {
			return []string{"ppl", "-m", stories, "-f", text, "--protocol", "stream", "--threads", "1", "--trace", filepath.Join(dir, "trace.jsonl")}
		}, "to score", 300 * time.Millisecond, "trace.jsonl"},
		{"sweep", func(dir string) []string {
			return []string{"sweep", "-m", stories, "-f", text, "--max-tokens", "2000", "--threads", "1", "--methods", "starc,quest",
				"--budgets", "64,128", "--out", filepath.Join(dir, "rows.json")}
		}, "runs", 300 * time.Millisecond, "rows.json"},
	}
	for _, tc := range cases {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(tc.name+"/"+sig.String(), func(t *testing.T) {
				dir := t.TempDir()
				if tc.keep != "" {
					os.MkdirAll(filepath.Dir(filepath.Join(dir, tc.keep)), 0o755)
					os.WriteFile(filepath.Join(dir, tc.keep), []byte(precious), 0o644)
				}
				cmd := exec.Command(bin, tc.args(dir)...)
				cmd.Dir = dir
				stdin, err := cmd.StdinPipe() // open, and never written to
				if err != nil {
					t.Fatal(err)
				}
				defer stdin.Close()
				watch := &stderrWatch{marker: tc.marker, seen: make(chan struct{})}
				if tc.marker == "" {
					watch.once.Do(func() { close(watch.seen) })
				}
				cmd.Stderr = watch
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan struct{})
				go func() { cmd.Wait(); close(done) }()
				select {
				case <-watch.seen:
				case <-done:
					t.Fatalf("ended before the signal; stderr:\n%s", watch)
				case <-time.After(2 * time.Minute):
					cmd.Process.Kill()
					t.Fatalf("no %q on stderr after 2 minutes:\n%s", tc.marker, watch)
				}
				time.Sleep(tc.delay)
				sent := time.Now()
				cmd.Process.Signal(sig)
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					cmd.Process.Kill()
					<-done
					t.Fatalf("still running 10 s after %v; stderr:\n%s", sig, watch)
				}
				if took := time.Since(sent); took > time.Second {
					t.Errorf("exited %v after %v, want within 1 s", took.Round(time.Millisecond), sig)
				}
				if code := cmd.ProcessState.ExitCode(); code != 128+int(sig) {
					t.Errorf("exit %d after %v, want %d; stderr:\n%s", code, sig, 128+int(sig), watch)
				}
				for _, d := range []string{dir, filepath.Join(dir, "out")} {
					if _, err := os.Stat(d); err == nil {
						if left := leftovers(t, d); len(left) > 0 {
							t.Errorf("temporaries left in %s: %v", d, left)
						}
					}
				}
				if tc.keep != "" {
					data, err := os.ReadFile(filepath.Join(dir, tc.keep))
					if err != nil {
						t.Fatalf("existing output %s: %v", tc.keep, err)
					}
					if string(data) != precious && !(tc.name == "sweep" && strings.HasPrefix(string(data), "[")) {
						t.Errorf("existing output %s was changed to %.80q", tc.keep, data)
					}
				}
			})
		}
	}
}
