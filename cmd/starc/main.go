// Command starc runs a Llama/Mistral-family checkpoint whose KV cache lives
// in a simulated HBM-PIM device, with STARC and other sparse attention
// methods, and reports accuracy and hardware cost.
//
// Usage:
//
//	starc <command> [flags]
//
// Commands:
//
//	generate   generate text from a prompt
//	ppl        perplexity of a text file
//	sweep      accuracy versus KV budget for several attention methods
//	convert    convert a GGUF checkpoint to an HF directory
//	hw         hardware cost of attention on the paper's configurations
//	trace      turn an access trace into the STARC artifact's kv_budget table
//	help       help on a command
//
// Run "starc help <command>" for its flags. A usage error exits with
// status 2, a runtime error prints "starc: <error>" and exits with 1. The
// first SIGINT or SIGTERM stops the command cleanly (exit 130 or 143), a
// second one exits at once.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
)

// command is one subcommand. run gets the flags already parsed.
type command struct {
	name  string
	args  string // synopsis after the flags, e.g. "IN.gguf OUT_DIR"
	short string
	long  string
	flags func(fs *flag.FlagSet) func(ctx context.Context, env *env, args []string) error
}

// env is what a command may touch of the outside world, so tests can run
// commands in-process.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	// checkOnly stops every command after its flags and arguments are
	// validated, before it reads a model or writes anything (the flag fuzz
	// test runs commands this way).
	checkOnly bool
}

var commands = []*command{generateCommand, pplCommand, sweepCommand, evalCommand, gridCommand, convertCommand, hwCommand, traceCommand}

// usageError is a mistake in the command line: exit 2 with a pointer to -h.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// interrupted is the cause of a context cancelled by a signal.
type interrupted struct{ sig os.Signal }

func (i interrupted) Error() string { return "interrupted by " + signalName(i.sig) }

func signalName(sig os.Signal) string {
	if sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

// exitStatus is the shell's convention for a death by signal: 128 + number.
func exitStatus(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 130
}

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first SIGINT or SIGTERM cancels the command's context: every
		// command stops at its next check and removes its temporaries. A
		// second one exits at once, removing the temporaries of files being
		// written.
		sig := <-signals
		fmt.Fprintf(os.Stderr, "\nstarc: %s: stopping (send it again to exit at once)\n", signalName(sig))
		cancel(interrupted{sig})
		sig = <-signals
		removeTemporaries()
		os.Exit(exitStatus(sig))
	}()
	code := run(ctx, os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin})
	os.Exit(code)
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		printMainUsage(e.stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			printMainUsage(e.stdout)
			return 0
		}
		c := lookup(rest[0])
		if c == nil {
			fmt.Fprintf(e.stderr, "starc: unknown command %q; commands: %s\n", rest[0], commandNames())
			return 2
		}
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		addProfileFlags(fs)
		c.flags(fs)
		printUsage(e.stdout, c, fs)
		return 0
	}
	c := lookup(name)
	if c == nil {
		fmt.Fprintf(e.stderr, "starc: unknown command %q; commands: %s (starc help for more)\n", name, commandNames())
		return 2
	}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	cpuProfile, memProfile := addProfileFlags(fs)
	body := c.flags(fs)
	positional, err := parseArgs(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(e.stdout, c, fs)
		return 0
	}
	if err != nil {
		err = usageError{err.Error()} // the flag package's own message names the flag
	} else {
		err = checkOutputs(fs)
	}
	if err != nil {
		return report(e, c, err)
	}
	var cpu bytes.Buffer
	if *cpuProfile != "" && !e.checkOnly {
		if err := pprof.StartCPUProfile(&cpu); err != nil {
			return report(e, c, fmt.Errorf("-cpuprofile: %w", err))
		}
	}
	err = body(ctx, e, positional)
	if *cpuProfile != "" && !e.checkOnly {
		pprof.StopCPUProfile()
	}
	if cause := context.Cause(ctx); err != nil && errors.As(cause, new(interrupted)) {
		err = cause // the command stopped because of the signal, whatever it says
	}
	if err != nil {
		if *cpuProfile != "" || *memProfile != "" {
			fmt.Fprintln(e.stderr, "starc: the command failed: profiles not written")
		}
		return report(e, c, err)
	}
	if e.checkOnly {
		return 0
	}
	if *cpuProfile != "" {
		if err := writeFileAtomic(*cpuProfile, cpu.Bytes()); err != nil {
			return report(e, c, fmt.Errorf("-cpuprofile: %w", err))
		}
	}
	if *memProfile != "" {
		var heap bytes.Buffer
		if err := pprof.WriteHeapProfile(&heap); err != nil {
			return report(e, c, fmt.Errorf("-memprofile: %w", err))
		}
		if err := writeFileAtomic(*memProfile, heap.Bytes()); err != nil {
			return report(e, c, fmt.Errorf("-memprofile: %w", err))
		}
	}
	return 0
}

// addProfileFlags defines the flags every command takes.
func addProfileFlags(fs *flag.FlagSet) (cpu, mem *string) {
	return outputFlag(fs, "cpuprofile", "write a CPU profile to `FILE` when the command succeeds"),
		outputFlag(fs, "memprofile", "write a heap profile to `FILE` when the command succeeds")
}

// report prints err and returns the exit status: 2 for a usage error (the
// usage line, then the error last so it stays on screen), 128+signal for
// an interruption, 1 otherwise.
func report(e *env, c *command, err error) int {
	var ue usageError
	var sig interrupted
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "usage: %s\nRun \"starc %s -h\" for its flags.\nstarc %s: %v\n", synopsis(c), c.name, c.name, err)
		return 2
	case errors.As(err, &sig):
		fmt.Fprintf(e.stderr, "starc: %v\n", err)
		return exitStatus(sig.sig)
	}
	fmt.Fprintf(e.stderr, "starc: %v\n", err)
	return 1
}

func commandNames() string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

func synopsis(c *command) string {
	return strings.TrimSpace("starc " + c.name + " [flags] " + c.args)
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func printMainUsage(w io.Writer) {
	fmt.Fprintln(w, "starc: a Llama/Mistral decoder whose KV cache lives in a simulated HBM-PIM device,")
	fmt.Fprintln(w, "with STARC sparse attention (arXiv 2505.05772) and its baselines.")
	fmt.Fprintln(w, "\nUsage:\n\n\tstarc <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-10s %s\n", c.name, c.short)
	}
	fmt.Fprintln(w, "\nRun \"starc help <command>\" or \"starc <command> -h\" for a command's flags.")
}

func printUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n\nFlags:\n", synopsis(c), strings.TrimSpace(c.long))
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
