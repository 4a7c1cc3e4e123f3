package main

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"starc/internal/testenv"
)

// Issue 15, item 1: sweep's singular flags run one method at one budget;
// mixing singular and plural is refused.
func TestSweepSingularFlags(t *testing.T) {
	dir := stories(t)
	text := storyText(t, 8)
	code, out, stderr := runStarc(t, "sweep", "-m", dir, "-f", text, "--method", "quest", "--budget", "32", "--max-tokens", "40", "--threads", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []struct {
		Method string `json:"method"`
		Budget int    `json:"budget"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 || rows[0].Method != "quest" || rows[0].Budget != 32 {
		t.Errorf("rows %+v (%v), want one quest row at budget 32", rows, err)
	}
	for _, args := range [][]string{
		{"sweep", "-m", dir, "-f", text, "--method", "quest", "--methods", "topk"},
		{"sweep", "-m", dir, "-f", text, "--budget", "32", "--budgets", "64"},
	} {
		if code, _, stderr := runStarc(t, args...); code != 2 || !strings.Contains(lastLine(stderr), "both given") {
			t.Errorf("starc %q: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// Item 2: the stream protocol's context follows --prefill + --max-tokens
// (it used to stop at a default of 512 and score 511).
func TestPPLStreamContextFollowsMaxTokens(t *testing.T) {
	dir := stories(t) // 2048 positions
	text := storyText(t, 60)
	code, out, stderr := runStarc(t, "ppl", "-m", dir, "-f", text, "--protocol", "stream", "--max-tokens", "1000", "--threads", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		TokensScored int `json:"tokens_scored"`
		Ctx          int `json:"ctx"`
	}
	json.Unmarshal([]byte(out), &res)
	if res.TokensScored != 1000 || res.Ctx != 1001 {
		t.Errorf("scored %d tokens in a context of %d, want 1000 in 1001", res.TokensScored, res.Ctx)
	}
}

// Item 3: a command's help names only flags it has, and sweep's no longer
// claims a one-token prefill it does not force.
func TestHelpNamesOnlyRealFlags(t *testing.T) {
	flagRef := regexp.MustCompile(`(\w+ )?--([a-z][a-z0-9-]*)`) // "hw --trace" is another command's flag
	for _, c := range commands {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.flags(fs)
		for _, m := range flagRef.FindAllStringSubmatch(c.long, -1) {
			if other := lookup(strings.TrimSpace(m[1])); other != nil && other != c {
				continue
			}
			if fs.Lookup(m[2]) == nil {
				t.Errorf("starc %s -h mentions --%s, which it does not have", c.name, m[2])
			}
		}
	}
	if strings.Contains(sweepCommand.long, "one-token prefill") {
		t.Errorf("sweep -h still describes a one-token prefill beside --prefill")
	}
}

// Item 5: a bad value prints a short usage pointer, then the error with the
// valid values, last.
func TestUsageErrorIsLastAndShort(t *testing.T) {
	code, _, stderr := runStarc(t, "generate", "-p", "hi", "--method", "bogus")
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if code != 2 || len(lines) > 3 {
		t.Fatalf("exit %d, %d lines of stderr:\n%s", code, len(lines), stderr)
	}
	for _, want := range []string{"-method", "bogus", "full", "starc", "quest"} {
		if !strings.Contains(lines[len(lines)-1], want) {
			t.Errorf("last line %q lacks %q", lines[len(lines)-1], want)
		}
	}
}

// Item 6: the default model is $STARC_MODEL, else models/ of the repository
// holding the binary, from any directory; the error lists what was tried.
func TestDefaultModelFound(t *testing.T) {
	repo := t.TempDir()
	os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module starc\n\ngo 1.26\n"), 0o644)
	model := filepath.Join(repo, defaultModelDir)
	os.MkdirAll(model, 0o755)
	os.MkdirAll(filepath.Join(repo, "bin"), 0o755)
	exe := filepath.Join(repo, "bin", "starc")
	os.WriteFile(exe, nil, 0o755)
	t.Chdir(t.TempDir()) // anywhere else
	t.Setenv("STARC_MODEL", "")
	if got, err := findDefaultModel(exe); err != nil || got != model {
		t.Errorf("from the binary's repository: %q, %v; want %q", got, err, model)
	}
	t.Setenv("STARC_MODEL", "/somewhere/else")
	if got, _ := findDefaultModel(exe); got != "/somewhere/else" {
		t.Errorf("$STARC_MODEL ignored: %q", got)
	}
	t.Setenv("STARC_MODEL", "")
	outside := filepath.Join(t.TempDir(), "starc")
	_, err := findDefaultModel(outside)
	if err == nil || !strings.Contains(err.Error(), "$STARC_MODEL") || !strings.Contains(err.Error(), defaultModelDir) {
		t.Errorf("no model anywhere: %v; want the paths tried", err)
	}
}

// Item 8: a sparse method without --budget attends to everything, and says so.
func TestSparseMethodWithoutBudgetWarns(t *testing.T) {
	var out, errb strings.Builder
	code := run(t.Context(), []string{"generate", "-p", "hi", "--method", "starc"}, &env{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), checkOnly: true})
	if code != 0 || !strings.Contains(errb.String(), "without --budget") {
		t.Errorf("exit %d, stderr %q; want a warning about --budget", code, errb.String())
	}
}

// Item 7: the README's commands parse and validate as written, the first
// generate is a plain completion, and the README says when --chat hurts.
func TestREADMECommandsAsWritten(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	t.Chdir(t.TempDir()) // relative output paths are probed here
	var cmds [][]string
	for line := range strings.SplitSeq(readme, "\n") {
		if rest, ok := strings.CutPrefix(line, "bin/starc "); ok {
			if i := strings.Index(rest, " #"); i >= 0 {
				rest = rest[:i]
			}
			cmds = append(cmds, shellWords(t, rest))
		}
	}
	if len(cmds) < 10 {
		t.Fatalf("found %d bin/starc commands in README.md", len(cmds))
	}
	for _, args := range cmds {
		if args[0] == "eval" {
			continue // not a checkOnly command
		}
		var out, errb strings.Builder
		if code := run(t.Context(), args, &env{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), checkOnly: true}); code != 0 {
			t.Errorf("README: starc %q: exit %d: %s", args, code, errb.String())
		}
	}
	for _, args := range cmds {
		if args[0] == "generate" {
			if strings.Contains(strings.Join(args, " "), "--chat") {
				t.Errorf("the README's first generate uses --chat: %q", args)
			}
			break
		}
	}
	if !strings.Contains(readme, "hurts long documents") {
		t.Errorf("README does not say when --chat hurts")
	}
}

// shellWords splits a command line with double quotes, as sh would for the
// README's simple commands.
func shellWords(t *testing.T, s string) []string {
	var words []string
	var cur strings.Builder
	inQuote, inWord := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote, inWord = !inQuote, true
		case r == ' ' && !inQuote:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inQuote {
		t.Fatalf("unbalanced quotes in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// Item 4: sweep draws a progress bar with the time left on a terminal, and
// nothing of it in a pipe.
func TestProgressOnTerminalOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) is needed for a pseudo-terminal")
	}
	bin := starcBinary(t)
	// A sweep of SmolLM2 long enough for a bar (drawn after 1 s) on a quiet
	// machine: 2 runs of 100 decode steps on one thread, 2 s or more.
	smol := testenv.DefaultModel(t)
	book, err := os.ReadFile(testenv.Shared(t, "data/pg1342_pride_and_prejudice.txt"))
	if err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(t.TempDir(), "text.txt")
	os.WriteFile(text, book[:20000], 0o644)
	args := []string{"sweep", "-m", smol, "-f", text, "--prefill", "16", "--max-tokens", "100", "--threads", "1",
		"--methods", "starc", "--budgets", "32,64"}
	// In a pipe.
	piped, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("sweep in a pipe: %v\n%s", err, piped)
	}
	if strings.Contains(string(piped), "ETA") || strings.Contains(string(piped), "\r") {
		t.Errorf("progress bar drawn into a pipe:\n%q", piped)
	}
	// On a pseudo-terminal (script runs the command with its stdio on one).
	line := bin + " " + strings.Join(args, " ") + " >/dev/null"
	tty, err := exec.Command(script, "-qec", line, "/dev/null").CombinedOutput()
	if err != nil {
		t.Fatalf("sweep on a terminal: %v\n%s", err, tty)
	}
	if !regexp.MustCompile(`sweep \[=*\s*\] \d+/200  ETA `).Match(tty) {
		t.Errorf("no progress bar with ETA on the terminal:\n%q", tty)
	}

	// generate's prefill of a long prompt (SmolLM2, a few seconds on one thread).
	prompt := filepath.Join(t.TempDir(), "long.txt")
	os.WriteFile(prompt, book[:4000], 0o644) // about 1000 tokens, two blocks (the bar in a pipe is the sweep's, above)
	genArgs := []string{"generate", "-m", smol, "--prompt-file", prompt, "-n", "1", "--threads", "1"}
	tty, err = exec.Command(script, "-qec", bin+" "+strings.Join(genArgs, " ")+" >/dev/null", "/dev/null").CombinedOutput()
	if err != nil {
		t.Fatalf("generate on a terminal: %v\n%s", err, tty)
	}
	if !regexp.MustCompile(`prefill \[=*\s*\] \d+/\d+  ETA `).Match(tty) {
		t.Errorf("no prefill progress bar on the terminal:\n%q", tty)
	}

	// hw over its longest run (4 million decode steps, a few seconds).
	hwArgs := []string{"hw", "--lout", "4194305", "--lin", "0", "--batch", "1"}
	start := time.Now()
	if piped, err = exec.Command(bin, hwArgs...).CombinedOutput(); err != nil || strings.Contains(string(piped), "ETA") {
		t.Errorf("hw in a pipe: %v\n%q", err, piped)
	}
	took := time.Since(start)
	tty, err = exec.Command(script, "-qec", bin+" "+strings.Join(hwArgs, " ")+" >/dev/null", "/dev/null").CombinedOutput()
	if err != nil {
		t.Fatalf("hw on a terminal: %v\n%s", err, tty)
	}
	if took < 1500*time.Millisecond {
		t.Logf("hw took %v in the pipe: too short for a bar (drawn after 1 s), not checked", took)
	} else if !regexp.MustCompile(`hw \[=*\s*\] \d+/4194304  ETA `).Match(tty) {
		t.Errorf("no hw progress bar on the terminal:\n%q", tty)
	}
}
