package attention

import "fmt"

// streaming is the attention-sinks baseline (StreamingLLM): the first
// Sinks tokens plus the most recent Budget − Sinks tokens, whatever the
// query. It needs no state and reads at most two runs of rows. With
// Budget ≤ Sinks it keeps the first Budget tokens.
type streaming struct {
	shape methodShape
}

func newStreaming(c Config) (Method, error) {
	if c.Sinks < 0 {
		return nil, fmt.Errorf("attention: streaming: sinks %d is negative", c.Sinks)
	}
	return &streaming{shape: newMethodShape("streaming", c)}, nil
}

func (m *streaming) Name() string { return "streaming" }

func (m *streaming) Append(layer, kvHead, _ int, _ []float32) { m.shape.dense(layer, kvHead) }

func (m *streaming) Prepare(layer, kvHead, _ int, _ Mover) { m.shape.group(layer, kvHead) }

func (m *streaming) Select(layer, head int, _ []float32, n int, dst []int) []int {
	m.shape.head(layer, head)
	if all, ok := m.shape.all(n); ok {
		return appendRange(dst, 0, all)
	}
	b := m.shape.cfg.Budget
	sinks := min(m.shape.cfg.Sinks, b)
	dst = appendRange(dst, 0, sinks)
	return appendRange(dst, n-(b-sinks), n)
}

func (m *streaming) Reset() {}
