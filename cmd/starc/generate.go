package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"unicode/utf8"

	"starc/model"
)

var generateCommand = &command{
	name:  "generate",
	short: "generate text from a prompt",
	long: `Generate tokenises the prompt, prefills it, and samples new tokens, streaming the
text to stdout. A stats line (prompt tokens, prefill and decode tokens/s) goes to
stderr; --stats writes it as JSON. With the KV cache in the PIM device (the
default; --kv dense keeps it in host memory as float32) a line of the device's
attention cost per generated token follows; --hw prints it for every token. --chat wraps the prompt in the model's chat
template. --method and --budget choose the sparse attention method.`,
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		dir := modelFlag(fs)
		prompt := fs.String("p", "", "prompt `TEXT` (\"-\": read it from stdin)")
		promptFile := fs.String("prompt-file", "", "read the prompt from `FILE` (for prompts longer than a command line allows)")
		n := intFlag(fs, "n", 128, 0, maxCount, "tokens to generate at most")
		temp := floatFlag(fs, "temp", 0, "≥ 0", func(x float64) bool { return x >= 0 }, "sampling temperature; 0 = greedy")
		topK := intFlag(fs, "top-k", 0, 0, maxCount, "sample among the k most likely tokens; 0 = all")
		topP := floatFlag(fs, "top-p", 1, "in (0, 1]", func(x float64) bool { return x > 0 && x <= 1 }, "nucleus sampling mass; 1 = off")
		chat := fs.Bool("chat", false, "wrap the prompt in the model's chat template (for questions; plain completion suits long documents)")
		statsFile := outputFlag(fs, "stats", "write generation statistics as JSON to `FILE`")
		hw := fs.Bool("hw", false, "print each generated token's attention hardware cost in the PIM device, as a table (the default is one summary line)")
		hwJSON := outputFlag(fs, "hw-json", "write the per-token hardware rows as JSON to `FILE` (implies --hw)")
		af := addAttnFlags(fs, 0)
		return func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected arguments %q (put the prompt in -p or --prompt-file)", args)
			}
			if isSet(fs, "p") == isSet(fs, "prompt-file") {
				return usagef("give the prompt with -p TEXT, -p - (stdin) or --prompt-file FILE (exactly one)")
			}
			if *prompt == "" && *promptFile == "" {
				return usagef("-p: the prompt is empty")
			}
			if (*temp == 0) && (isSet(fs, "top-k") || isSet(fs, "top-p")) {
				return usagef("--top-k and --top-p apply only when sampling: add --temp (0 = greedy)")
			}
			if *hwJSON != "" {
				*hw = true
			}
			if *hw {
				if *n == 0 {
					return usagef("--hw and --hw-json report generated tokens, and -n 0 generates none")
				}
				if isSet(fs, "kv") && *af.kv != "pim" {
					return usagef("--hw needs the KV cache in the device; drop --kv %s", *af.kv)
				}
				fs.Set("kv", "pim") // as if given: the device is required, not just the default
			}
			if err := af.check(e.stderr); err != nil {
				return err
			}
			if e.checkOnly {
				return nil
			}
			text, err := readPrompt(ctx, *prompt, *promptFile, e.stdin)
			if err != nil {
				return err
			}
			l, err := loadModel(*dir)
			if err != nil {
				return err
			}
			defer l.close()
			if *chat {
				if text, err = chatPrompt(l.dir, text); err != nil {
					return err
				}
			}
			ids, err := l.encode(ctx, text)
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				return fmt.Errorf("the prompt tokenises to zero tokens")
			}
			capacity := *af.ctx
			if capacity == 0 {
				capacity = min(l.model.Config.MaxContext(), len(ids)+*n)
			}
			if err := af.checkModel(l); err != nil {
				return err
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
			var report *hwReport // every token's device cost, with the KV cache in the device
			if st.device != nil {
				report = newHWReport(e.stderr, st.device)
			}
			bar := newProgressBar(e.stderr, "prefill")
			stats, err := model.Generate(ctx, l.model, st.State, ids, model.GenerateOptions{
				MaxNew: *n, Sampler: model.NewSampler(*temp, *topK, *topP, *af.seed), Stop: stop,
				PrefillProgress: func(done, total int) {
					if bar.update(done, total); done == total {
						bar.done()
					}
				},
			}, func(id int) error {
				if report != nil {
					report.token(id, st.Pos())
				}
				_, err := io.WriteString(e.stdout, dec.Add(id))
				return err
			})
			bar.done() // a prefill stopped half-way leaves no bar behind
			io.WriteString(e.stdout, dec.Flush()+"\n")
			if err != nil {
				return err
			}
			if *hw {
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
			if report != nil && !*hw {
				report.line()
			}
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

// readPrompt is the prompt from -p TEXT, -p - (stdin) or --prompt-file.
func readPrompt(ctx context.Context, prompt, file string, stdin io.Reader) (string, error) {
	var data []byte
	var err error
	switch {
	case file != "":
		data, err = os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--prompt-file: %w", err)
		}
	case prompt == "-":
		if data, err = readAllContext(ctx, stdin); err != nil {
			return "", fmt.Errorf("-p -: reading stdin: %w", err)
		}
	default:
		return prompt, nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		src := "--prompt-file " + file
		if file == "" {
			src = "-p - (stdin)"
		}
		return "", fmt.Errorf("%s: the prompt is empty", src)
	}
	if !utf8.Valid(data) {
		return "", fmt.Errorf("--prompt-file %s: not UTF-8 text", file)
	}
	return string(data), nil
}

// readAllContext reads r to its end, or returns ctx's error as soon as ctx
// is done (a terminal or a pipe may never end; the reader is abandoned).
func readAllContext(ctx context.Context, r io.Reader) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := io.ReadAll(r)
		done <- result{data, err}
	}()
	select {
	case res := <-done:
		return res.data, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
