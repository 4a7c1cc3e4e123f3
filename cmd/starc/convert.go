package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"starc/weights"
	"starc/weights/convert"
)

var convertCommand = &command{
	name:  "convert",
	args:  "IN.gguf OUT_DIR",
	short: "convert a GGUF checkpoint to an HF directory",
	long: `Convert reads a llama- or qwen2-architecture GGUF file (F32, F16, BF16, Q8_0,
Q4_0, Q4_1, Q5_0, Q5_1 or K-quant tensors) and writes a standard HF checkpoint
directory: config.json, model.safetensors, tokenizer.json built from the GGUF
tokenizer metadata, tokenizer_config.json (with the chat template) and
generation_config.json. Llama Q/K rows are permuted from GGUF's adjacent-pair
RoPE into HF's split halves; qwen2 rows are already in HF order, and its q/k/v
biases are kept. Any other architecture is refused, named.
The directory is written atomically; an existing OUT_DIR is kept unless --force.`,
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		dtype := fs.String("dtype", "bf16", "element type of the matrices: bf16, f16 or f32")
		force := fs.Bool("force", false, "replace OUT_DIR if it exists")
		return func(ctx context.Context, e *env, args []string) error {
			if len(args) != 2 {
				return usagef("want IN.gguf and OUT_DIR, got %d arguments", len(args))
			}
			dt, ok := map[string]weights.DType{"bf16": weights.BF16, "f16": weights.F16, "f32": weights.F32}[strings.ToLower(*dtype)]
			if !ok {
				return usagef("--dtype %q: want bf16, f16 or f32", *dtype)
			}
			if err := checkOutputDir(args[1], *force); err != nil {
				return fmt.Errorf("OUT_DIR %s: %w", args[1], err)
			}
			if e.checkOnly {
				return nil
			}
			sum, err := convert.Convert(ctx, args[0], args[1], convert.Options{DType: dt, Force: *force})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "starc convert: wrote %s: %d tensors, %.1f MB of %s weights, %s tokenizer\n",
				args[1], sum.Tensors, float64(sum.Bytes)/1e6, dt, sum.TokenizerType)
			return nil
		}
	},
}
