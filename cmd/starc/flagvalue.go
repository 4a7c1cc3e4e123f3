package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Flag values that validate while the command line is parsed, so that a bad
// value is refused before any work with a message naming the flag
// ("invalid value "-5" for flag -ctx: want 0..1073741824"), and so that a
// command cannot forget a check.

// maxCount bounds every token, step and size count a flag takes: far above
// any context a model here has, far below where sums of counts overflow.
const maxCount = 1 << 30

// intValue is an int flag restricted to lo..hi.
type intValue struct {
	p      *int
	lo, hi int
}

func (v *intValue) String() string {
	if v == nil || v.p == nil {
		return "0"
	}
	return strconv.Itoa(*v.p)
}

func (v *intValue) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 0, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("not an integer; want %d..%d", v.lo, v.hi)
	}
	if err != nil || n < int64(v.lo) || n > int64(v.hi) {
		return fmt.Errorf("want %d..%d", v.lo, v.hi)
	}
	*v.p = int(n)
	return nil
}

// intFlag defines an int flag taking lo..hi; the range is added to the help.
func intFlag(fs *flag.FlagSet, name string, def, lo, hi int, usage string) *int {
	p := new(int)
	*p = def
	bounds := fmt.Sprintf("in %d..%d", lo, hi)
	if hi == maxCount {
		bounds = fmt.Sprintf("≥ %d", lo)
	}
	fs.Var(&intValue{p: p, lo: lo, hi: hi}, name, usage+" (`N` "+bounds+")")
	return p
}

// floatValue is a finite float64 flag accepted by ok, which returns what
// is wanted when it refuses a value.
type floatValue struct {
	p    *float64
	want string
	ok   func(float64) bool
}

func (v *floatValue) String() string {
	if v == nil || v.p == nil {
		return "0"
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}

func (v *floatValue) Set(s string) error {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || !v.ok(x) {
		return fmt.Errorf("want a finite number %s", v.want)
	}
	*v.p = x
	return nil
}

func floatFlag(fs *flag.FlagSet, name string, def float64, want string, ok func(float64) bool, usage string) *float64 {
	p := new(float64)
	*p = def
	fs.Var(&floatValue{p: p, want: want, ok: ok}, name, usage+" (`X` "+want+")")
	return p
}

// enumValue is a string flag taking one of a fixed set of words.
type enumValue struct {
	p      *string
	values []string
}

func (v *enumValue) String() string {
	if v == nil || v.p == nil {
		return ""
	}
	return *v.p
}

func (v *enumValue) Set(s string) error {
	if !slices.Contains(v.values, s) {
		return fmt.Errorf("want one of %s", strings.Join(v.values, ", "))
	}
	*v.p = s
	return nil
}

func enumFlag(fs *flag.FlagSet, name, def string, values []string, usage string) *string {
	p := new(string)
	*p = def
	fs.Var(&enumValue{p: p, values: values}, name, usage+" (one of `"+strings.Join(values, "|")+"`)")
	return p
}

// enumListValue is a comma-separated list of words from a fixed set;
// spaces around the commas are allowed, empty items and repeats are not.
type enumListValue struct {
	p      *[]string
	values []string
}

func (v *enumListValue) String() string {
	if v == nil || v.p == nil {
		return ""
	}
	return strings.Join(*v.p, ",")
}

func (v *enumListValue) Set(s string) error {
	var list []string
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
			return fmt.Errorf("empty item in %q; want a comma-separated list of %s", s, strings.Join(v.values, ", "))
		case !slices.Contains(v.values, item):
			return fmt.Errorf("%q is not one of %s", item, strings.Join(v.values, ", "))
		case slices.Contains(list, item):
			return fmt.Errorf("%q is listed twice", item)
		}
		list = append(list, item)
	}
	*v.p = list
	return nil
}

func enumListFlag(fs *flag.FlagSet, name string, def, values []string, usage string) *[]string {
	p := new([]string)
	*p = def
	fs.Var(&enumListValue{p: p, values: values}, name, usage+" (`LIST` of "+strings.Join(values, ", ")+")")
	return p
}

// intListValue is a comma-separated list of ints in lo..hi.
type intListValue struct {
	p      *[]int
	lo, hi int
}

func (v *intListValue) String() string {
	if v == nil || v.p == nil {
		return ""
	}
	s := make([]string, len(*v.p))
	for i, n := range *v.p {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (v *intListValue) Set(s string) error {
	var list []int
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		n, err := strconv.ParseInt(item, 10, 64)
		if err != nil || n < int64(v.lo) || n > int64(v.hi) {
			return fmt.Errorf("%q is not an integer in %d..%d", item, v.lo, v.hi)
		}
		if slices.Contains(list, int(n)) {
			return fmt.Errorf("%d is listed twice", n)
		}
		list = append(list, int(n))
	}
	*v.p = list
	return nil
}

func intListFlag(fs *flag.FlagSet, name string, def []int, lo, hi int, usage string) *[]int {
	p := new([]int)
	*p = def
	fs.Var(&intListValue{p: p, lo: lo, hi: hi}, name, usage+" (comma-separated `LIST` of integers ≥ "+strconv.Itoa(lo)+")")
	return p
}

// outputValue is a flag naming a file the command writes. Run checks every
// such flag before the command starts (checkOutputs), so a path that
// cannot be written fails at once, naming the flag.
type outputValue struct{ p *string }

func (v *outputValue) String() string {
	if v == nil || v.p == nil {
		return ""
	}
	return *v.p
}

func (v *outputValue) Set(s string) error {
	if s == "" {
		return errors.New("empty path")
	}
	*v.p = s
	return nil
}

// outputFlag defines a flag naming an output file (written atomically).
func outputFlag(fs *flag.FlagSet, name, usage string) *string {
	p := new(string)
	fs.Var(&outputValue{p: p}, name, usage)
	return p
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// parseArgs parses flags placed before, between or after the positional
// arguments ("trace budget-table FILE --from-layer 3"); "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(positional, rest...), nil
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
}
