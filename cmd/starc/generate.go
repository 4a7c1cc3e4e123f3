package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"

	"starc/model"
	"starc/tokenizer"
)

var generateCommand = &command{
	name:  "generate",
	short: "generate text from a prompt",
	long: `Generate tokenises the prompt, prefills it, and samples new tokens, streaming the
text to stdout. A stats line (prompt tokens, prefill and decode tokens/s) goes to
stderr; --stats writes it as JSON. --chat wraps the prompt in the model's chat
template. --method and --budget choose the sparse attention method.`,
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		dir := fs.String("m", defaultModelDir, "model `DIR` (HF layout)")
		prompt := fs.String("p", "", "prompt `TEXT`")
		n := fs.Int("n", 128, "tokens to generate at most")
		temp := fs.Float64("temp", 0, "sampling temperature (0 = greedy)")
		topK := fs.Int("top-k", 0, "sample among the k most likely tokens (0 = all)")
		topP := fs.Float64("top-p", 1, "nucleus sampling mass (1 = off)")
		chat := fs.Bool("chat", false, "apply the model's chat template to the prompt")
		statsFile := fs.String("stats", "", "write generation statistics as JSON to `FILE`")
		hw := fs.Bool("hw", false, "keep the KV cache in the PIM device (--kv pim) and print each token's attention hardware cost")
		hwJSON := fs.String("hw-json", "", "write the per-token hardware rows as JSON to `FILE` (implies --hw)")
		af := addAttnFlags(fs, 0)
		return func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected arguments %q (put the prompt in -p)", args)
			}
			if *prompt == "" {
				return usagef("-p: the prompt is empty")
			}
			if *n < 0 {
				return usagef("-n %d: want a non-negative token count", *n)
			}
			if *temp < 0 {
				return usagef("--temp %g: want 0 (greedy) or a positive temperature", *temp)
			}
			if *hwJSON != "" {
				*hw = true
			}
			if *hw {
				*af.kv = "pim"
			}
			l, err := loadModel(*dir)
			if err != nil {
				return err
			}
			defer l.close()
			text := *prompt
			if *chat {
				if text, err = chatPrompt(l.dir, text); err != nil {
					return err
				}
			}
			ids := l.tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
			if len(ids) == 0 {
				return fmt.Errorf("the prompt tokenises to zero tokens")
			}
			capacity := *af.ctx
			if capacity == 0 {
				capacity = min(l.model.Config.MaxContext(), len(ids)+*n)
			}
			if len(ids)+*n > capacity {
				return fmt.Errorf("prompt of %d tokens + %d new tokens exceeds the context of %d tokens (the model allows %d)",
					len(ids), *n, capacity, l.model.Config.MaxContext())
			}
			st, err := af.newState(l, capacity)
			if err != nil {
				return err
			}
			defer st.Close()
			stop := slices.Clone(l.model.Config.EOS)
			if eos, ok := l.tok.EOS(); ok && !slices.Contains(stop, eos) {
				stop = append(stop, eos)
			}
			dec := l.tok.NewDecoder()
			var report *hwReport
			if *hw {
				report = newHWReport(e.stderr, st.device)
			}
			stats, err := model.Generate(ctx, l.model, st.State, ids, model.GenerateOptions{
				MaxNew: *n, Sampler: model.NewSampler(*temp, *topK, *topP, *af.seed), Stop: stop,
			}, func(id int) error {
				if report != nil {
					report.token(id, st.Pos())
				}
				_, err := io.WriteString(e.stdout, dec.Add(id))
				return err
			})
			io.WriteString(e.stdout, dec.Flush()+"\n")
			if err != nil {
				return err
			}
			if report != nil {
				report.summary()
				if *hwJSON != "" {
					if err := writeJSONFile(*hwJSON, report.rows); err != nil {
						return err
					}
				}
			}
			if err := st.finish(); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "starc: %d prompt tokens, %d generated; prefill %.1f tok/s, decode %.1f tok/s (method %s, budget %d, %d threads)\n",
				stats.PromptTokens, stats.GeneratedTokens, stats.PrefillTokS, stats.DecodeTokS, *af.method, *af.budget, *af.threads)
			if *statsFile != "" {
				return writeJSONFile(*statsFile, struct {
					model.Stats
					Method  string `json:"method"`
					Budget  int    `json:"budget"`
					Threads int    `json:"threads"`
					Seed    uint64 `json:"seed"`
				}{stats, *af.method, *af.budget, *af.threads, *af.seed})
			}
			return nil
		}
	},
}
