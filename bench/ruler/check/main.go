// Command check is the Go side of bench/ruler/compat.sh: it reads RULER
// data made by RULER's prepare.py, writes hand-made prediction files for it,
// and scores prediction directories with starc's scorer, printing the rows
// of RULER's summary.csv so the two can be compared line by line.
//
//	go run ./bench/ruler/check data DATA_DIR
//	go run ./bench/ruler/check fake DATA_DIR OUT_DIR
//	go run ./bench/ruler/check score [-scorer ruler|starc] PRED_DIR
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"starc/eval/ruler/jsonl"
	"starc/eval/ruler/score"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "data":
		err = data(os.Args[2:])
	case "fake":
		err = fake(os.Args[2:])
	case "score":
		err = scoreDir(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "check:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: check data DATA_DIR | check fake DATA_DIR OUT_DIR | check score [-scorer ruler|starc] PRED_DIR")
	os.Exit(2)
}

// data reads every <length>/data/<task>/validation.jsonl under the
// directory and prints one line per file.
func data(args []string) error {
	if len(args) != 1 {
		usage()
	}
	files, err := jsonl.ListData(args[0])
	if err != nil {
		return err
	}
	for _, f := range files {
		samples, err := jsonl.ReadSamples(f.Path)
		if err != nil {
			return err
		}
		maxLen := 0
		for _, s := range samples {
			maxLen = max(maxLen, s.Length)
		}
		fmt.Printf("%d\t%s\t%d samples\tmax length %d\n", f.Length, f.Task, len(samples), maxLen)
	}
	return nil
}

// fake writes OUT/<length>/pred/<task>.jsonl for every data file, with
// predictions made to exercise the scorer: every answer, the first answer
// only, answers upper-cased and wrapped in control characters, nothing, and
// a wrong answer, in turn.
func fake(args []string) error {
	if len(args) != 2 {
		usage()
	}
	files, err := jsonl.ListData(args[0])
	if err != nil {
		return err
	}
	for _, f := range files {
		samples, err := jsonl.ReadSamples(f.Path)
		if err != nil {
			return err
		}
		w, err := jsonl.OpenPredictions(filepath.Join(args[1], strconv.Itoa(f.Length), "pred", f.Task+".jsonl"), samples)
		if err != nil {
			return err
		}
		for i, s := range w.Pending() {
			var pred string
			switch i % 5 {
			case 0:
				pred = " " + strings.Join(s.Outputs, ", ") + "."
			case 1:
				pred = " " + s.Outputs[0] + " and more"
			case 2:
				pred = "\x00\t" + strings.ToUpper(strings.Join(s.Outputs, " ")) + "\x1f\n"
			case 3:
				pred = "\n\t "
			case 4:
				pred = " 0000000 nothing-here"
			}
			if err := w.Write(jsonl.NewPrediction(&s, pred)); err != nil {
				w.Close()
				return err
			}
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
}

// scoreDir prints the Tasks, Score and Nulls rows of summary.csv as RULER's
// evaluate.py writes them (pandas' CSV of a frame of mixed types: floats as
// Python's repr), then the mean.
func scoreDir(args []string) error {
	fs := flag.NewFlagSet("score", flag.ExitOnError)
	scorer := fs.String("scorer", "ruler", "ruler or starc")
	fs.Parse(args)
	if fs.NArg() != 1 {
		usage()
	}
	sc, err := score.ParseScorer(*scorer)
	if err != nil {
		return err
	}
	dir := fs.Arg(0)
	length := 0 // the nearest enclosing directory named by a number: OUT/<length>/pred[/<cell>]
	for d := filepath.Clean(dir); d != filepath.Dir(d) && length == 0; d = filepath.Dir(d) {
		length, _ = strconv.Atoi(filepath.Base(d))
	}
	sum, err := score.Dir(sc, dir, length)
	if err != nil {
		return err
	}
	tasks, scores, nulls := []string{"Tasks"}, []string{"Score"}, []string{"Nulls"}
	for _, t := range sum.Tasks {
		tasks = append(tasks, t.Task)
		scores = append(scores, pyRepr(t.Score))
		nulls = append(nulls, t.NullsString())
	}
	fmt.Println(strings.Join(tasks, ","))
	fmt.Println(strings.Join(scores, ","))
	fmt.Println(strings.Join(nulls, ","))
	fmt.Printf("Mean,%s\n", strconv.FormatFloat(sum.Mean, 'f', 2, 64))
	return nil
}

// pyRepr formats a float as Python's repr does for the values scores take
// (shortest round-trip digits, ".0" on integers).
func pyRepr(x float64) string {
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}
