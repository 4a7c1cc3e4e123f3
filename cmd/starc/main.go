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
//	convert    convert a GGUF checkpoint to an HF directory
//	hw         hardware cost of attention on the paper's configurations
//	help       help on a command
//
// Run "starc help <command>" for its flags. A usage error exits with
// status 2, a runtime error prints "starc: <error>" and exits with 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
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
}

var commands = []*command{generateCommand, pplCommand, sweepCommand, convertCommand, hwCommand, traceCommand}

// usageError is a mistake in the command line: print help, exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin})
	stop()
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
			fmt.Fprintf(e.stderr, "starc: unknown command %q\n", rest[0])
			printMainUsage(e.stderr)
			return 2
		}
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.flags(fs)
		printUsage(e.stdout, c, fs)
		return 0
	}
	c := lookup(name)
	if c == nil {
		fmt.Fprintf(e.stderr, "starc: unknown command %q\n", name)
		printMainUsage(e.stderr)
		return 2
	}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to `FILE`")
	memProfile := fs.String("memprofile", "", "write a heap profile to `FILE` at exit")
	body := c.flags(fs)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(e.stdout, c, fs)
			return 0
		}
		fmt.Fprintf(e.stderr, "starc %s: %v\n", c.name, err)
		printUsage(e.stderr, c, fs)
		return 2
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(e.stderr, "starc: %v\n", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(e.stderr, "starc: %v\n", err)
			return 1
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	err := body(ctx, e, fs.Args())
	if *memProfile != "" {
		if f, ferr := os.Create(*memProfile); ferr == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "starc %s: %v\n", c.name, err)
		printUsage(e.stderr, c, fs)
		return 2
	default:
		fmt.Fprintf(e.stderr, "starc: %v\n", err)
		return 1
	}
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
	fmt.Fprintf(w, "usage: %s\n\n%s\n\nFlags:\n", strings.TrimSpace("starc "+c.name+" [flags] "+c.args), strings.TrimSpace(c.long))
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
