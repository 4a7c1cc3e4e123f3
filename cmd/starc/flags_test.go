package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lastLine is the last non-empty line of s: where a usage error must be,
// below the usage line, so it stays on screen.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// Every bad flag of issue 9 (items 1, 4, 8, 10, 12, 13) is refused before any
// work: exit 2, and the last line of stderr names the flag. The model path
// does not exist, so a case that slipped through validation would fail
// later with exit 1 ("model directory").
func TestBadFlagsNameTheFlag(t *testing.T) {
	tmp := t.TempDir()
	noModel := filepath.Join(tmp, "no-model")
	text := filepath.Join(tmp, "text.txt")
	os.WriteFile(text, []byte("Once upon a time"), 0o644)
	existingDir := filepath.Join(tmp, "adir")
	os.Mkdir(existingDir, 0o755)
	missingParent := filepath.Join(tmp, "missing", "out.json")
	gen := func(extra ...string) []string {
		return append([]string{"generate", "-m", noModel, "-p", "hi"}, extra...)
	}
	ppl := func(extra ...string) []string { return append([]string{"ppl", "-m", noModel, "-f", text}, extra...) }
	sweep := func(extra ...string) []string { return append([]string{"sweep", "-m", noModel, "-f", text}, extra...) }
	cases := []struct {
		name string
		args []string
		flag string // the last line of stderr must contain it
	}{
		// item 1: threads
		{"threads far above the cap", gen("--threads", "16384"), "-threads"},
		{"threads zero", gen("--threads", "0"), "-threads"},
		{"threads negative in sweep", sweep("--threads", "-2"), "-threads"},
		// item 4: output paths, checked before any work
		{"stats is a directory", gen("--stats", existingDir), "-stats"},
		{"stats in a missing directory", gen("--stats", missingParent), "-stats"},
		{"hw-json in a missing directory", gen("--hw-json", missingParent), "-hw-json"},
		{"trace is a directory", ppl("--trace", existingDir), "-trace"},
		{"sweep out in a missing directory", sweep("--out", missingParent), "-out"},
		{"sweep out in an unwritable place", sweep("--out", "/proc/starc-sweep.json"), "-out"},
		{"trace out is a directory", []string{"trace", "budget-table", text, "--out", existingDir}, "-out"},
		{"cpuprofile is a directory", gen("-cpuprofile", existingDir), "-cpuprofile"},
		{"memprofile in a missing directory", gen("-memprofile", missingParent), "-memprofile"},
		{"two flags write one file", gen("--stats", filepath.Join(tmp, "x.json"), "--hw-json", filepath.Join(tmp, "x.json")), "-hw-json"},
		{"sweep unknown method after a good one", sweep("--methods", "full,bogus"), "-methods"},
		{"sweep empty method", sweep("--methods", "full,,starc"), "-methods"},
		{"sweep batch out of range", sweep("--batch", "-1"), "-batch"},
		{"eval batch above the cap", []string{"eval", "-m", noModel, "--out", existingDir, "--batch", "65"}, "-batch"},
		{"eval prepare takes no batch", []string{"eval", "-m", noModel, "--out", existingDir, "--batch", "2", "prepare"}, "-batch"},
		{"sweep negative budget", sweep("--budgets", "128,-1"), "-budgets"},
		{"sweep budget not a number", sweep("--budgets", "128,lots"), "-budgets"},
		// item 8: what cannot be scored is refused up front
		{"sweep max-tokens beyond ctx", sweep("--max-tokens", "64", "--ctx", "16"), "-ctx"},
		{"ppl stream max-tokens beyond ctx", ppl("--protocol", "stream", "--max-tokens", "64", "--ctx", "16"), "-ctx"},
		{"ppl max-tokens with chunk protocol", ppl("--max-tokens", "64"), "-max-tokens"},
		// item 10: overflows and ranges at the flag
		{"generate -n overflow", gen("-n", "9223372036854775807"), "-n"},
		{"generate -n beyond int64", gen("-n", "99999999999999999999"), "-n"},
		{"ppl negative ctx", ppl("--ctx", "-5"), "-ctx"},
		{"sweep max-tokens overflow", sweep("--max-tokens", "9223372036854775807"), "-max-tokens"},
		{"hw lout overflow", []string{"hw", "--lout", "9223372036854775807"}, "-lout"},
		{"hw batch zero", []string{"hw", "--batch", "0"}, "-batch"},
		{"hw lin negative", []string{"hw", "--lin", "-1"}, "-lin"},
		{"budget overflow", gen("--method", "starc", "--budget", "9223372036854775807"), "-budget"},
		// item 12: values that used to be accepted or ignored silently
		{"temp NaN", gen("--temp", "NaN"), "-temp"},
		{"temp Inf", gen("--temp", "Inf"), "-temp"},
		{"temp negative", gen("--temp", "-0.5"), "-temp"},
		{"top-p zero", gen("--temp", "1", "--top-p", "0"), "-top-p"},
		{"top-p above one", gen("--temp", "1", "--top-p", "1.5"), "-top-p"},
		{"top-k negative", gen("--temp", "1", "--top-k", "-1"), "-top-k"},
		{"top-p when greedy", gen("--top-p", "0.9"), "-top-p"},
		{"ppl prefill zero", ppl("--protocol", "stream", "--prefill", "0"), "-prefill"},
		{"sweep prefill negative", sweep("--prefill", "-3"), "-prefill"},
		{"ppl max-tokens negative", ppl("--protocol", "stream", "--max-tokens", "-1"), "-max-tokens"},
		{"window zero", gen("--method", "starc", "--budget", "64", "--window", "0"), "-window"},
		{"cluster-size zero", gen("--method", "starc", "--budget", "64", "--cluster-size", "0"), "-cluster-size"},
		{"recluster zero", gen("--method", "starc", "--budget", "64", "--recluster", "0"), "-recluster"},
		{"page-size zero", gen("--method", "quest", "--budget", "64", "--page-size", "0"), "-page-size"},
		{"sinks zero", gen("--method", "streaming", "--budget", "64", "--sinks", "0"), "-sinks"},
		{"page-size with starc", gen("--method", "starc", "--budget", "64", "--page-size", "8"), "-page-size"},
		{"budget with full", gen("--method", "full", "--budget", "256"), "-budget"},
		{"budget with the default method", gen("--budget", "256"), "-budget"},
		{"layout with dense kv", gen("--kv", "dense", "--layout", "attacc"), "-layout"},
		{"unknown method", gen("--method", "bogus"), "-method"},
		{"unknown kv", gen("--kv", "hbm"), "-kv"},
		{"hw steps alone", []string{"hw", "--steps"}, "-steps"},
		{"hw from-layer without trace", []string{"hw", "--from-layer", "3"}, "-from-layer"},
		{"hw unknown method", []string{"hw", "--method", "bogus"}, "-method"},
		{"hw-json with nothing generated", gen("-n", "0", "--hw-json", filepath.Join(tmp, "hw.json")), "-n 0"},
		// item 15: one prompt source
		{"prompt and prompt-file", gen("--prompt-file", text), "--prompt-file"},
		{"no prompt at all", []string{"generate", "-m", noModel}, "-p"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runStarc(t, tc.args...)
			if code != 2 {
				t.Fatalf("starc %q: exit %d, want 2; stderr:\n%s", tc.args, code, stderr)
			}
			if last := lastLine(stderr); !strings.Contains(last, tc.flag) {
				t.Errorf("starc %q: last line %q does not name %s", tc.args, last, tc.flag)
			}
		})
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 2 {
		names := []string{}
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("refused commands left files behind: %v", names)
	}
}

// The flags the issue found silently accepted are accepted when right:
// spaces in lists, flags after the positional arguments.
func TestGoodFlagForms(t *testing.T) {
	tmp := t.TempDir()
	text := filepath.Join(tmp, "text.txt")
	os.WriteFile(text, []byte("Once upon a time"), 0o644)
	cases := [][]string{
		{"sweep", "-f", text, "--methods", "full, starc", "--budgets", "64, 128"},
		{"sweep", "-f", text, "--method", "quest", "--budget", "32"},
		{"trace", "budget-table", text, "--from-layer", "3"},
		{"trace", "--from-layer", "3", "budget-table", text},
		{"generate", "-p", "-", "--temp", "0.7", "--top-p", "0.9", "--top-k", "40"},
		{"generate", "--prompt-file", text, "--method", "starc", "--budget", "64", "--window", "32"},
		{"generate", "-p", "hi", "--hw", "--layout", "attacc"},
		{"hw", "--steps", "--csv"},
	}
	for _, args := range cases {
		var out, errb strings.Builder
		code := run(t.Context(), args, &env{stdout: &out, stderr: &errb, stdin: strings.NewReader("hi"), checkOnly: true})
		if code != 0 {
			t.Errorf("starc %q: exit %d; stderr:\n%s", args, code, errb.String())
		}
	}
}
