package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"starc/eval"
	"starc/tokenizer"
)

var pplCommand = &command{
	name:  "ppl",
	short: "perplexity of a text file",
	long: `Ppl measures perplexity. --protocol chunk (default) is llama.cpp's: the whole file
is tokenised (with BOS when the tokenizer adds one), cut into non-overlapping
chunks of --ctx tokens whose first token is set to BOS, and positions ctx/2..ctx-2
of each chunk are scored; PPL = exp(mean NLL). --protocol stream is STARC's PG-19
protocol: one-token prefill, then every token through the decode path (so the
sparse --method chooses the context of every prediction), for at most
--max-tokens predictions.`,
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		dir := fs.String("m", defaultModelDir, "model `DIR` (HF layout)")
		file := fs.String("f", "", "text `FILE` to score")
		protocol := fs.String("protocol", "chunk", "chunk (llama.cpp) or stream (STARC PG-19)")
		maxTokens := fs.Int("max-tokens", 0, "stream: predictions to score at most (0 = as many as fit)")
		prefill := fs.Int("prefill", 1, "stream: tokens prefilled densely before scoring starts (STARC's PG-19 run: 1)")
		asJSON := fs.Bool("json", false, "print the result as a JSON object")
		af := addAttnFlags(fs, 512)
		return func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected arguments %q", args)
			}
			if *file == "" {
				return usagef("-f: a text file is required")
			}
			if *protocol != "chunk" && *protocol != "stream" {
				return usagef("--protocol %q: want chunk or stream", *protocol)
			}
			text, err := os.ReadFile(*file)
			if err != nil {
				return err
			}
			if len(text) == 0 {
				return fmt.Errorf("%s: the file is empty", *file)
			}
			l, err := loadModel(*dir)
			if err != nil {
				return err
			}
			defer l.close()
			ids := l.tok.Encode(string(text), tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
			nCtx := *af.ctx
			if nCtx == 0 {
				nCtx = l.model.Config.MaxContext()
			}
			if nCtx > l.model.Config.MaxContext() {
				return usagef("--ctx %d exceeds the model's context of %d tokens", nCtx, l.model.Config.MaxContext())
			}
			st, err := af.newState(l, nCtx)
			if err != nil {
				return err
			}
			defer st.Close()
			bar := newProgressBar(e.stderr, "ppl")
			var res eval.PPLResult
			if *protocol == "chunk" {
				bos := -1 // llama.cpp sets each chunk's first token to BOS only when the tokenizer adds BOS
				if len(ids) > 0 {
					if b, ok := l.tok.BOS(); ok && ids[0] == b {
						bos = b
					}
				}
				res, err = eval.ChunkPerplexity(ctx, l.model, st.State, ids, bos, nCtx, bar.update)
			} else {
				total := min(len(ids), nCtx) - *prefill
				if *maxTokens > 0 {
					total = min(total, *maxTokens)
				}
				res, err = eval.StreamPerplexity(ctx, l.model, st.State, ids, *prefill, *maxTokens, func(done int, _ float64) {
					bar.update(done, total)
				})
			}
			bar.done()
			if err != nil {
				return err
			}
			if err := st.finish(); err != nil {
				return err
			}
			return printPPL(e.stdout, *asJSON, res, *af.method, *af.budget)
		}
	},
}

func printPPL(w io.Writer, asJSON bool, res eval.PPLResult, method string, budget int) error {
	if asJSON {
		b, err := json.MarshalIndent(struct {
			eval.PPLResult
			Method string `json:"method"`
			Budget int    `json:"budget"`
		}{res, method, budget}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(w, "PPL = %.4f ± %.4f  (%s protocol, ctx %d, %d tokens scored, method %s, budget %d)\n",
		res.PPL, res.PPLStdErr, res.Protocol, res.Ctx, res.TokensScored, method, budget)
	return err
}

// progressBar draws progress on a terminal, or prints a line every 10 %
// (and at most every few seconds) elsewhere.
type progressBar struct {
	w        io.Writer
	label    string
	tty      bool
	start    time.Time
	lastPct  int
	lastLine time.Time
}

func newProgressBar(w io.Writer, label string) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progressBar{w: w, label: label, tty: tty, start: time.Now(), lastPct: -1}
}

func (p *progressBar) update(done, total int) {
	if total <= 0 {
		return
	}
	pct := done * 100 / total
	elapsed := time.Since(p.start)
	eta := time.Duration(0)
	if done > 0 {
		eta = time.Duration(float64(elapsed) * float64(total-done) / float64(done))
	}
	if p.tty {
		const width = 30
		fill := done * width / total
		fmt.Fprintf(p.w, "\r%s [%-*s] %d/%d  %s left ", p.label, width,
			strings.Repeat("=", fill), done, total, eta.Round(time.Second))
		return
	}
	if pct/10 != p.lastPct/10 && (time.Since(p.lastLine) > 2*time.Second || done == total) {
		fmt.Fprintf(p.w, "%s: %d/%d (%d%%), %s left\n", p.label, done, total, pct, eta.Round(time.Second))
		p.lastPct, p.lastLine = pct, time.Now()
	}
}

func (p *progressBar) done() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}
