package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"starc/eval"
)

var pplCommand = &command{
	name:  "ppl",
	short: "perplexity of a text file",
	long: `Ppl measures perplexity. --protocol chunk (default) is llama.cpp's: the whole file
is tokenised (with BOS when the tokenizer adds one), cut into non-overlapping
chunks of --ctx tokens (default 512) whose first token is set to BOS, and
positions ctx/2..ctx-2 of each chunk are scored; PPL = exp(mean NLL).
--protocol stream is STARC's PG-19 protocol: --prefill tokens (default 1) are
prefilled densely, then every token goes through the decode path (so the sparse
--method chooses the context of every prediction), for --max-tokens predictions
(default: as many as the text and context allow). Its context defaults to
--prefill + --max-tokens, up to the model's. The number of tokens to be scored
is printed before the run starts.`,
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		dir := modelFlag(fs)
		file := fs.String("f", "", "text `FILE` to score")
		protocol := enumFlag(fs, "protocol", "chunk", []string{"chunk", "stream"}, "chunk (llama.cpp) or stream (STARC PG-19)")
		maxTokens := intFlag(fs, "max-tokens", 0, 0, maxCount, "stream: predictions to score; 0 = as many as fit")
		prefill := intFlag(fs, "prefill", 1, 1, maxCount, "stream: tokens prefilled densely before scoring starts (STARC's PG-19 run: 1)")
		asJSON := fs.Bool("json", false, "print the result as a JSON object")
		af := addAttnFlags(fs, 0)
		fs.Lookup("ctx").Usage = "context in tokens; 0 = chunk: 512 (llama.cpp's), stream: --prefill + --max-tokens, up to the model's (`N` ≥ 0)"
		return func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected arguments %q", args)
			}
			if *file == "" {
				return usagef("-f: a text file is required")
			}
			if *protocol == "chunk" {
				for _, name := range []string{"max-tokens", "prefill"} {
					if isSet(fs, name) {
						return usagef("--%s applies only to --protocol stream", name)
					}
				}
				if isSet(fs, "ctx") && *af.ctx < 4 {
					return usagef("--ctx %d: the chunk protocol needs at least 4 tokens", *af.ctx)
				}
			}
			if *protocol == "stream" && *af.ctx > 0 && *maxTokens > 0 && *prefill+*maxTokens > *af.ctx {
				return usagef("--prefill %d + --max-tokens %d need a context of %d tokens, more than --ctx %d",
					*prefill, *maxTokens, *prefill+*maxTokens, *af.ctx)
			}
			if *protocol == "stream" && *af.ctx > 0 && *prefill >= *af.ctx {
				return usagef("--prefill %d leaves nothing to score in a context of --ctx %d", *prefill, *af.ctx)
			}
			if err := af.check(e.stderr); err != nil {
				return err
			}
			if e.checkOnly {
				return nil
			}
			text, err := os.ReadFile(*file)
			if err != nil {
				return fmt.Errorf("-f: %w", err)
			}
			if len(text) == 0 {
				return fmt.Errorf("-f %s: the file is empty", *file)
			}
			l, err := loadModel(*dir)
			if err != nil {
				return err
			}
			defer l.close()
			if err := af.checkModel(l); err != nil {
				return err
			}
			ids, err := l.encode(ctx, string(text))
			if err != nil {
				return err
			}
			modelCtx := l.model.Config.MaxContext()
			var nCtx, scored int
			if *protocol == "chunk" {
				nCtx = *af.ctx
				if nCtx == 0 {
					nCtx = min(512, modelCtx)
				}
				chunks := len(ids) / nCtx
				if chunks == 0 {
					return fmt.Errorf("-f %s has %d tokens, fewer than one context of %d (lower --ctx)", *file, len(ids), nCtx)
				}
				scored = chunks * (nCtx - 1 - nCtx/2)
				fmt.Fprintf(e.stderr, "ppl: %d tokens of %s: %d chunks of %d, %d tokens to score\n", len(ids), *file, chunks, nCtx, scored)
			} else {
				nCtx = *af.ctx
				if nCtx == 0 {
					nCtx = modelCtx
					if *maxTokens > 0 {
						if *prefill+*maxTokens > modelCtx {
							return usagef("--prefill %d + --max-tokens %d exceed the model's context of %d tokens", *prefill, *maxTokens, modelCtx)
						}
						nCtx = *prefill + *maxTokens
					}
				}
				scored = min(len(ids), nCtx) - *prefill
				if *maxTokens > 0 {
					if len(ids) < *prefill+*maxTokens {
						return fmt.Errorf("-f %s has %d tokens, fewer than --prefill %d + --max-tokens %d", *file, len(ids), *prefill, *maxTokens)
					}
					scored = *maxTokens
				}
				if scored < 1 {
					return fmt.Errorf("-f %s has %d tokens: nothing to score after --prefill %d", *file, len(ids), *prefill)
				}
				fmt.Fprintf(e.stderr, "ppl: %d tokens of %s: %d prefilled, then %d tokens to score through the decode path (context %d)\n",
					len(ids), *file, *prefill, scored, nCtx)
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
				res, err = eval.StreamPerplexity(ctx, l.model, st.State, ids, *prefill, scored, func(done int, _ float64) {
					bar.update(done, scored)
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
