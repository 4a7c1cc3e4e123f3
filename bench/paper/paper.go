package main

// The paper's Fig. 11 (STARC, ASPLOS'26 version of arXiv 2505.05772), as
// reconstructed from the bar labels of the PDF in ../shared/docs/starc.md
// §5.6: per-token decode latency and energy, normalised to full attention =
// 1.00 for each model and decode length, total and attention part, for
// token-wise (SparQ), STARC and page-wise (Quest) sparsity at KV budget 1024;
// Lin = 2K, batch 16. These are the reference values; nothing here derives them.

// Methods in the figure's order; the artifact's table names.
var methods = []struct {
	Key, Label, Table string // Key: our method name; Table: the artifact's kv_budget_<model>_<Table>.txt
}{
	{"sparq", "token-wise", "SparQ"},
	{"starc", "STARC", "STARC"},
	{"quest", "page-wise", "Quest"},
}

// Models: our preset, the paper's label, the artifact's table prefix.
var models = []struct {
	Preset, Label, Table string
}{
	{"llama-7b", "LLaMA-7B", "Llama"},
	{"gpt-13b", "GPT-13B", "GPT"},
	{"mistral-7b", "Mistral-7B", "Mistral"},
}

// Decode lengths: the artifact's --lout (its README's sample row is Lout 16000).
var louts = []struct {
	Lout  int
	Label string
}{{16000, "16K"}, {24000, "24K"}, {32000, "32K"}}

// paperBar is one (model, Lout) group of the figure: the attention share of
// the full-attention bar, then per method (token-wise, STARC, page-wise) the
// total and the attention part, all normalised to the full-attention total.
type paperBar struct {
	FullAttn    float64
	Total, Attn [3]float64
}

// paperLatency and paperEnergy: starc.md §5.6, keyed by model label then Lout label.
var paperLatency = map[string]map[string]paperBar{
	"LLaMA-7B": {
		"16K": {0.35, [3]float64{0.84, 0.70, 0.70}, [3]float64{0.19, 0.05, 0.05}},
		"24K": {0.43, [3]float64{0.74, 0.61, 0.61}, [3]float64{0.17, 0.04, 0.04}},
		"32K": {0.50, [3]float64{0.66, 0.54, 0.54}, [3]float64{0.15, 0.04, 0.04}},
	},
	"GPT-13B": {
		"16K": {0.29, [3]float64{0.86, 0.75, 0.75}, [3]float64{0.15, 0.04, 0.04}},
		"24K": {0.37, [3]float64{0.77, 0.67, 0.67}, [3]float64{0.14, 0.04, 0.03}},
		"32K": {0.43, [3]float64{0.70, 0.61, 0.60}, [3]float64{0.13, 0.03, 0.03}},
	},
	"Mistral-7B": {
		"16K": {0.37, [3]float64{0.86, 0.68, 0.68}, [3]float64{0.23, 0.06, 0.05}},
		"24K": {0.46, [3]float64{0.75, 0.59, 0.59}, [3]float64{0.21, 0.05, 0.04}},
		"32K": {0.53, [3]float64{0.66, 0.52, 0.51}, [3]float64{0.18, 0.04, 0.04}},
	},
}

var paperEnergy = map[string]map[string]paperBar{
	"LLaMA-7B": {
		"16K": {0.48, [3]float64{0.68, 0.59, 0.57}, [3]float64{0.16, 0.07, 0.05}},
		"24K": {0.55, [3]float64{0.59, 0.51, 0.50}, [3]float64{0.14, 0.06, 0.04}},
		"32K": {0.60, [3]float64{0.53, 0.46, 0.44}, [3]float64{0.13, 0.05, 0.04}},
	},
	"GPT-13B": {
		"16K": {0.40, [3]float64{0.74, 0.66, 0.64}, [3]float64{0.14, 0.06, 0.04}},
		"24K": {0.48, [3]float64{0.65, 0.58, 0.57}, [3]float64{0.13, 0.05, 0.04}},
		"32K": {0.53, [3]float64{0.59, 0.52, 0.51}, [3]float64{0.12, 0.05, 0.04}},
	},
	"Mistral-7B": {
		"16K": {0.50, [3]float64{0.69, 0.57, 0.55}, [3]float64{0.19, 0.07, 0.05}},
		"24K": {0.57, [3]float64{0.60, 0.49, 0.48}, [3]float64{0.17, 0.06, 0.05}},
		"32K": {0.62, [3]float64{0.53, 0.44, 0.42}, [3]float64{0.15, 0.06, 0.04}},
	},
}
