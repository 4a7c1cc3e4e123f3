package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

// checkOnlyCommands stop after validation when env.checkOnly is set, so the
// fuzzer can run them without loading a model or computing anything.
var checkOnlyCommands = []string{"generate", "ppl", "sweep", "convert", "hw", "trace", "help"}

// FuzzCLIFlags runs random command lines (arguments separated by newlines)
// through parsing and validation: whatever the input, no panic, and the
// exit status is one run documents.
func FuzzCLIFlags(f *testing.F) {
	for _, seed := range []string{
		"generate\n-p\nhi\n-n\n9223372036854775807",
		"generate\n-p\n-\n--temp\nNaN\n--top-p\n0.5",
		"generate\n--prompt-file\nx\n--threads\n16384\n--stats\n.",
		"generate\n-p\nhi\n--method\nstarc\n--budget\n64\n--window\n0\n--layout\nattacc",
		"ppl\n-f\nx\n--protocol\nstream\n--max-tokens\n-1\n--ctx\n16",
		"sweep\n-f\nx\n--methods\nfull, starc\n--budgets\n128,,256\n--out\n/proc/x",
		"sweep\n-f\nx\n--method\nquest\n--budget\n32\n--methods\ntopk",
		"hw\n--steps\n--lout\n0x7fffffffffffffff\n--from-layer\n-1",
		"trace\nbudget-table\nx\n--from-layer\n3\n--out\nx",
		"convert\n--dtype\nq4\na\nb\n--\n-x",
		"help\nsweep",
		"-cpuprofile\nx",
	} {
		f.Add(seed)
	}
	f.Chdir(f.TempDir()) // relative output paths are probed here
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\n")
		if !slices.Contains(checkOnlyCommands, args[0]) {
			return
		}
		e := &env{stdout: io.Discard, stderr: io.Discard, stdin: strings.NewReader("fuzz"), checkOnly: true}
		if code := run(t.Context(), args, e); code != 0 && code != 1 && code != 2 {
			t.Fatalf("starc %q: exit %d", args, code)
		}
	})
}
