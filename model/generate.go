package model

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// GenerateOptions controls Generate.
type GenerateOptions struct {
	MaxNew  int      // tokens to generate at most
	Sampler *Sampler // nil = greedy
	Stop    []int    // token ids that end generation (EOS); not emitted

	// PrefillProgress, if not nil, is told the prompt tokens prefilled so
	// far after each prefill block.
	PrefillProgress func(done, total int)
}

// Stats reports one generation.
type Stats struct {
	PromptTokens    int     `json:"prompt_tokens"`
	GeneratedTokens int     `json:"generated_tokens"`
	PrefillSeconds  float64 `json:"prefill_s"`
	DecodeSeconds   float64 `json:"decode_s"`
	PrefillTokS     float64 `json:"prefill_tok_s"`
	DecodeTokS      float64 `json:"decode_tok_s"`
	StoppedAtEOS    bool    `json:"stopped_at_eos"`

	// CPU seconds the whole process used during each phase, all threads
	// (0 where the platform has no per-process CPU clock). On a shared
	// machine they exclude the time other processes held the cores.
	PrefillCPUSeconds float64 `json:"prefill_cpu_s"`
	DecodeCPUSeconds  float64 `json:"decode_cpu_s"`

	forwards       int           // decode forward passes timed in DecodeSeconds
	decodeCPUStart time.Duration // processCPU() when decoding began
}

// Generate prefills prompt into a fresh state and then samples up to
// MaxNew tokens, calling emit with each one as soon as it is chosen. It
// stops early at a Stop token, when emit returns an error, or when ctx is
// cancelled. The state must be empty (Pos 0).
func Generate(ctx context.Context, m *Model, st *State, prompt []int, opt GenerateOptions, emit func(id int) error) (Stats, error) {
	stats := Stats{PromptTokens: len(prompt)}
	if len(prompt) == 0 {
		return stats, fmt.Errorf("model: empty prompt (at least one token is needed)")
	}
	if st.Pos() != 0 {
		return stats, fmt.Errorf("model: Generate needs a fresh state (at position %d)", st.Pos())
	}
	if need := len(prompt) + opt.MaxNew; need > st.Capacity() {
		return stats, fmt.Errorf("%w: prompt of %d tokens + %d new tokens exceeds the context of %d tokens",
			ErrContextFull, len(prompt), opt.MaxNew, st.Capacity())
	}
	sampler := opt.Sampler
	if sampler == nil {
		sampler = NewSampler(0, 0, 1, 0)
	}
	t0, cpu0 := time.Now(), processCPU()
	logits, err := m.prefillPrompt(ctx, st, prompt, opt.PrefillProgress)
	if err != nil {
		return stats, err
	}
	stats.PrefillSeconds = time.Since(t0).Seconds()
	t1, cpu1 := time.Now(), processCPU()
	stats.PrefillCPUSeconds = (cpu1 - cpu0).Seconds()
	stats.decodeCPUStart = cpu1
	for stats.GeneratedTokens < opt.MaxNew {
		if err := ctx.Err(); err != nil {
			return stats.finish(t1), err
		}
		id := sampler.Sample(logits)
		if slices.Contains(opt.Stop, id) {
			stats.StoppedAtEOS = true
			break
		}
		stats.GeneratedTokens++
		if err := emit(id); err != nil {
			return stats.finish(t1), err
		}
		if stats.GeneratedTokens == opt.MaxNew {
			break // the last token needs no forward pass
		}
		if logits, err = m.Forward(st, id); err != nil {
			return stats.finish(t1), err
		}
		stats.forwards++
	}
	return stats.finish(t1), nil
}

// prefillPrompt is PrefillContext one block at a time when progress is
// wanted: the blocks, and so the results, are those of a single call.
func (m *Model) prefillPrompt(ctx context.Context, st *State, prompt []int, progress func(done, total int)) ([]float32, error) {
	if progress == nil {
		return m.PrefillContext(ctx, st, prompt)
	}
	var logits []float32
	for start := 0; start < len(prompt); start += st.block {
		end := min(start+st.block, len(prompt))
		var err error
		if logits, err = m.PrefillContext(ctx, st, prompt[start:end]); err != nil {
			return nil, err
		}
		progress(end, len(prompt))
	}
	return logits, nil
}

func (s Stats) finish(decodeStart time.Time) Stats {
	s.DecodeSeconds = time.Since(decodeStart).Seconds()
	s.DecodeCPUSeconds = (processCPU() - s.decodeCPUStart).Seconds()
	if s.PrefillSeconds > 0 {
		s.PrefillTokS = float64(s.PromptTokens) / s.PrefillSeconds
	}
	if s.DecodeSeconds > 0 && s.forwards > 0 {
		s.DecodeTokS = float64(s.forwards) / s.DecodeSeconds // forward passes per second, as llama.cpp counts
	}
	return s
}
