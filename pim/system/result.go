package system

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// Time columns (per layer in s inside a step; ms per generated token in Columns).
const (
	tTime = iota
	tMatmul
	tFC
	tComm
	tEtc
	tQKV
	tProj
	tFF
	tG2G
	tX2G
	tSoftmax
	tAct
	tNorm
	nTime
)

// Energy columns (per layer in pJ inside a step; nJ per decode step in Columns).
const (
	eTotal = iota
	eDRAM
	eL2Col
	eL1Col
	eRegCol
	eALUCol
	eFCMem
	eFCComp
	eAttnMem
	eAttnComp
	eEtcMem
	eEtcComp
	eCommCol
	nEnergyCol
)

// Columns are AttAcc's decode-stage output columns, named as its output.csv
// names them. Times in ms for one decode step of the whole batch (all layers);
// energies in nJ for one decode step of the whole batch.
type Columns struct {
	Time    float64 `json:"g_time (ms)"`
	Matmul  float64 `json:"g_matmul"` // PIM attention
	FC      float64 `json:"g_fc"`     // qkv + proj + FFN after the pipeline and FF-parallel adjustments
	Comm    float64 `json:"g_comm"`   // G2G all-reduces + AttAcc link
	Etc     float64 `json:"g_etc"`    // activation + norms
	QKV     float64 `json:"g_qkv_time"`
	Proj    float64 `json:"g_prj_time"`
	FF      float64 `json:"g_ff_time"`
	G2G     float64 `json:"g2g_comm"`
	X2G     float64 `json:"c2g_comm"`
	Softmax float64 `json:"g_softmax"` // always 0: the pipeline hides it
	Act     float64 `json:"g_act"`
	Norm    float64 `json:"g_lnorm"`

	Energy         float64 `json:"g_energy (nJ)"`
	DRAMEnergy     float64 `json:"g_dram_energy"`
	L2Energy       float64 `json:"g_l2_energy"`
	L1Energy       float64 `json:"g_l1_energy"`
	RegEnergy      float64 `json:"g_reg_energy"`
	ALUEnergy      float64 `json:"g_alu_energy"`
	FCMemEnergy    float64 `json:"g_fc_mem_energy"`
	FCCompEnergy   float64 `json:"g_fc_comp_energy"`
	AttnMemEnergy  float64 `json:"g_attn_mem_energy"`
	AttnCompEnergy float64 `json:"g_attn_comp_energy"`
	EtcMemEnergy   float64 `json:"g_etc_mem_energy"`
	EtcCompEnergy  float64 `json:"g_etc_comp_energy"`
	CommEnergy     float64 `json:"g_comm_energy"`
}

// ColumnNames are the names of Columns.Values, in AttAcc's output.csv order.
var ColumnNames = []string{
	"g_time (ms)", "g_matmul", "g_fc", "g_comm", "g_etc", "g_qkv_time", "g_prj_time", "g_ff_time",
	"g2g_comm", "c2g_comm", "g_softmax", "g_act", "g_lnorm",
	"g_energy (nJ)", "g_dram_energy", "g_l2_energy", "g_l1_energy", "g_reg_energy", "g_alu_energy",
	"g_fc_mem_energy", "g_fc_comp_energy", "g_attn_mem_energy", "g_attn_comp_energy",
	"g_etc_mem_energy", "g_etc_comp_energy", "g_comm_energy",
}

func (c *Columns) timePtrs() [nTime]*float64 {
	return [nTime]*float64{&c.Time, &c.Matmul, &c.FC, &c.Comm, &c.Etc, &c.QKV, &c.Proj, &c.FF,
		&c.G2G, &c.X2G, &c.Softmax, &c.Act, &c.Norm}
}

func (c *Columns) energyPtrs() [nEnergyCol]*float64 {
	return [nEnergyCol]*float64{&c.Energy, &c.DRAMEnergy, &c.L2Energy, &c.L1Energy, &c.RegEnergy, &c.ALUEnergy,
		&c.FCMemEnergy, &c.FCCompEnergy, &c.AttnMemEnergy, &c.AttnCompEnergy, &c.EtcMemEnergy, &c.EtcCompEnergy,
		&c.CommEnergy}
}

func (c *Columns) setTime(i int, v float64)   { *c.timePtrs()[i] = v }
func (c *Columns) setEnergy(i int, v float64) { *c.energyPtrs()[i] = v }

// Values returns the columns in ColumnNames order.
func (c Columns) Values() []float64 {
	out := make([]float64, 0, nTime+nEnergyCol)
	for _, p := range c.timePtrs() {
		out = append(out, *p)
	}
	for _, p := range c.energyPtrs() {
		out = append(out, *p)
	}
	return out
}

// Column returns a column by its AttAcc name.
func (c Columns) Column(name string) (float64, bool) {
	for i, n := range ColumnNames {
		if n == name {
			return c.Values()[i], true
		}
	}
	return 0, false
}

// Step is one decode step. Its Columns are in the averaged columns' units but
// for this step alone (ms and nJ for all layers of the step).
type Step struct {
	Step       int   `json:"step"`        // 1..Lout-1
	L          int   `json:"L"`           // KV length attended (Lin + step)
	Budget     int   `json:"budget"`      // KV budget in tokens (= L for full attention)
	EffectiveL int   `json:"effective_L"` // tokens the PIM reads: 16·R (sparse) or L (full)
	R          int   `json:"R"`           // rows of 16 tokens per partition, ceil(effective_L/16)
	Cycles     int64 `json:"cycles"`      // PIM cycles of one layer's attention (incl. clustering)
	Clustering bool  `json:"clustering"`  // a clustering pass was charged in this step
	Columns
}

// Result is a run's averaged AttAcc columns; EachStep gives its per-step rows.
type Result struct {
	Model         string  `json:"model"`
	Method        string  `json:"method"`
	Lin           int     `json:"Lin"`
	Lout          int     `json:"Lout"`
	Batch         int     `json:"bs"`
	AttAccCompat  bool    `json:"attacc_compat"`
	HeadsPerStack int     `json:"heads_per_stack"` // attention heads (KV heads without compat) on the busiest stack
	Rounds        int     `json:"rounds"`          // ceil(heads_per_stack / channels), run one after another
	QueryGroup    int     `json:"query_group"`     // query heads sharing a channel's K/V (1 in compat mode)
	CapacityBytes int64   `json:"capacity_bytes"`  // PIM capacity from the organisation
	DistinctR     int     `json:"distinct_R"`      // attention simulations needed (memoised per R)
	PaddedSteps   int     `json:"padded_steps"`    // steps past the budget table's end that reused its last value (Config.PadTable)
	Columns               // averaged over the Lout-1 decode steps
	Throughput    float64 `json:"throughput"` // tokens/s = bs / g_time

	replay *replay // what EachStep recomputes the steps from
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// csvHeader are the leading configuration columns of WriteCSV.
var csvHeader = []string{"model", "method", "attacc_compat", "Lin", "Lout", "bs", "heads_per_stack"}

// WriteCSV writes a header and one row: the configuration, AttAcc's decode
// columns in its order, then throughput (tokens/s).
func (r Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := append(append(append([]string{}, csvHeader...), ColumnNames...), "throughput")
	row := []string{r.Model, r.Method, strconv.FormatBool(r.AttAccCompat), strconv.Itoa(r.Lin),
		strconv.Itoa(r.Lout), strconv.Itoa(r.Batch), strconv.Itoa(r.HeadsPerStack)}
	for _, v := range r.Columns.Values() {
		row = append(row, formatFloat(v))
	}
	row = append(row, formatFloat(r.Throughput))
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("system: csv: %w", err)
	}
	if err := cw.Write(row); err != nil {
		return fmt.Errorf("system: csv: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("system: csv: %w", err)
	}
	return nil
}

// WriteStepsCSV writes one row per decode step, as EachStep computes them.
func (r Result) WriteStepsCSV(ctx context.Context, w io.Writer) error {
	cw := csv.NewWriter(w)
	head := append([]string{"step", "L", "budget", "effective_L", "R", "cycles", "clustering"}, ColumnNames...)
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("system: csv: %w", err)
	}
	row := make([]string, 0, len(head))
	err := r.EachStep(ctx, func(s Step) error {
		row = append(row[:0], strconv.Itoa(s.Step), strconv.Itoa(s.L), strconv.Itoa(s.Budget),
			strconv.Itoa(s.EffectiveL), strconv.Itoa(s.R), strconv.FormatInt(s.Cycles, 10), strconv.FormatBool(s.Clustering))
		for _, v := range s.Columns.Values() {
			row = append(row, formatFloat(v))
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("system: csv: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("system: csv: %w", err)
	}
	return nil
}

// WriteJSON writes the result as indented JSON; withSteps adds a "steps"
// array of the per-step rows (32 000 of them at the paper's Lout), written as
// EachStep computes them.
func (r Result) WriteJSON(ctx context.Context, w io.Writer, withSteps bool) error {
	head, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("system: json: %w", err)
	}
	if !withSteps {
		_, err := fmt.Fprintf(w, "%s\n", head)
		return wrapJSON(err)
	}
	// head ends with "\n}": reopen the object for the steps array.
	if _, err := fmt.Fprintf(w, "%s,\n  \"steps\": [", head[:len(head)-2]); err != nil {
		return wrapJSON(err)
	}
	sep := "\n    "
	err = r.EachStep(ctx, func(s Step) error {
		b, err := json.MarshalIndent(s, "    ", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s%s", sep, b)
		sep = ",\n    "
		return err
	})
	if err != nil {
		return wrapJSON(err)
	}
	_, err = io.WriteString(w, "\n  ]\n}\n")
	return wrapJSON(err)
}

func wrapJSON(err error) error {
	if err != nil {
		return fmt.Errorf("system: json: %w", err)
	}
	return nil
}
