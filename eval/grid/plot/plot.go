// Package plot draws a merged grid (grid.Table) with gonum.org/v1/plot,
// as PNG and SVG: score versus KV budget per method with full attention
// dashed (one panel per workload), K rows per head and PIM attention
// energy per token versus budget, score versus energy with the Pareto
// front, needle heatmaps (depth × length) per method, and for task runs
// the score of every cell on every task as a matrix per length. Only
// finished cells are drawn.
package plot

import (
	"context"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"starc/eval/grid"
)

// Panel size of every figure; a figure of c columns and r rows of panels
// is c·PanelWidth × r·PanelHeight (PNG at DPI dots per inch).
const (
	PanelWidth  = 4 * vg.Inch
	PanelHeight = 3 * vg.Inch
	DPI         = 96
)

// All draws every figure the table has data for into dir and returns the
// files written (each figure as .png and .svg).
func All(ctx context.Context, t *grid.Table, dir string) ([]string, error) {
	rows := done(t)
	if len(rows) == 0 {
		return nil, fmt.Errorf("plot: %s has no finished cell to draw", t.Grid)
	}
	var files []string
	figures := []struct {
		name string
		make func([]grid.Row) ([][]*plot.Plot, error)
	}{
		{"score_vs_budget", ScoreVsBudget},
		{"cost_vs_budget", CostVsBudget},
		{"score_vs_energy", ScoreVsEnergy},
		{"needle_heatmap", NeedleHeatmaps},
		{"task_scores", TaskScores},
	}
	for _, f := range figures {
		if err := ctx.Err(); err != nil {
			return files, err
		}
		panels, err := f.make(rows)
		if err != nil {
			return files, fmt.Errorf("plot: %s: %w", f.name, err)
		}
		if len(panels) == 0 {
			continue
		}
		headroom(panels)
		w, h := Size(panels)
		if f.name == "task_scores" {
			w, h = TaskScoresSize(panels)
		}
		for _, ext := range []string{"png", "svg"} {
			path := filepath.Join(dir, f.name+"."+ext)
			if err := SaveSized(panels, path, w, h); err != nil {
				return files, err
			}
			files = append(files, path)
		}
	}
	return files, nil
}

func done(t *grid.Table) []grid.Row {
	var out []grid.Row
	for _, r := range t.Rows {
		if r.Status == "done" {
			out = append(out, r)
		}
	}
	return out
}

// collapseDepths merges the rows of a needle task at one length over its
// fixed depths (the heatmap shows the depths): scores and costs are means
// over the depths, per method and budget.
func collapseDepths(rows []grid.Row) []grid.Row {
	var out []grid.Row
	index := map[string]int{}
	count := map[string]int{}
	for _, r := range rows {
		if r.Depth == nil {
			out = append(out, r)
			continue
		}
		r.Workload = r.Task + "@" + strconv.Itoa(r.Length) + " (mean over depths)"
		key := r.Model + "|" + r.Workload + "|" + r.Method + "|" + strconv.Itoa(r.Budget)
		i, ok := index[key]
		if !ok {
			index[key] = len(out)
			r.Depth = nil
			out = append(out, r)
			count[key] = 1
			continue
		}
		o := &out[i]
		o.Score += r.Score
		o.RowsPerHead += r.RowsPerHead
		o.PIMEnergyNJ += r.PIMEnergyNJ
		o.PIMLatencyNS += r.PIMLatencyNS
		count[key]++
	}
	for key, i := range index {
		n := float64(count[key])
		out[i].Score /= n
		out[i].RowsPerHead /= n
		out[i].PIMEnergyNJ /= n
		out[i].PIMLatencyNS /= n
	}
	return out
}

// panelKey is one workload of one model: a panel of the per-workload figures.
type panelKey struct{ model, workload string }

func panels(rows []grid.Row) ([]panelKey, map[panelKey][]grid.Row) {
	rows = collapseDepths(rows)
	var keys []panelKey
	by := map[panelKey][]grid.Row{}
	multiModel := false
	for _, r := range rows {
		multiModel = multiModel || r.Model != rows[0].Model
	}
	for _, r := range rows {
		k := panelKey{workload: r.Workload}
		if multiModel {
			k.model = r.Model
		}
		if _, ok := by[k]; !ok {
			keys = append(keys, k)
		}
		by[k] = append(by[k], r)
	}
	return keys, by
}

func (k panelKey) title() string {
	if k.model == "" {
		return k.workload
	}
	return k.model + ": " + k.workload
}

// scoreLabel is the y-axis label of a metric.
func scoreLabel(metric string) string {
	switch metric {
	case "perplexity":
		return "perplexity (lower is better)"
	case "ruler":
		return "RULER score (0-100)"
	case "starc":
		return "STARC score (0-1)"
	}
	return metric
}

const budgetLabel = "KV budget (tokens per query head per step)"

// methods lists the sparse methods of rows in first-seen order.
func methods(rows []grid.Row) []string {
	var out []string
	for _, r := range rows {
		if r.Budget > 0 && !slices.Contains(out, r.Method) {
			out = append(out, r.Method)
		}
	}
	return out
}

func budgets(rows []grid.Row) []float64 {
	var out []float64
	for _, r := range rows {
		if r.Budget > 0 && !slices.Contains(out, float64(r.Budget)) {
			out = append(out, float64(r.Budget))
		}
	}
	slices.Sort(out)
	return out
}

// newPlot is a plot with readable fonts and a legend in the top right.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text, p.Y.Label.Text = x, y
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.X.Label.TextStyle.Font.Size, p.Y.Label.TextStyle.Font.Size = vg.Points(9), vg.Points(9)
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Add(plotter.NewGrid())
	return p
}

// budgetAxis makes x a log2 budget axis ticked at the budgets.
func budgetAxis(p *plot.Plot, bs []float64) {
	p.X.Scale = plot.LogScale{}
	var ticks plot.ConstantTicks
	for _, b := range bs {
		ticks = append(ticks, plot.Tick{Value: b, Label: strconv.Itoa(int(b))})
	}
	p.X.Tick.Marker = ticks
	if len(bs) > 0 {
		p.X.Min, p.X.Max = bs[0]/1.25, bs[len(bs)-1]*1.25
	}
}

// methodLines adds one line per sparse method of value(row) versus budget,
// and full attention's value as a dashed horizontal line.
func methodLines(p *plot.Plot, rows []grid.Row, value func(grid.Row) float64) error {
	bs := budgets(rows)
	budgetAxis(p, bs)
	for i, m := range methods(rows) {
		var xys plotter.XYs
		for _, r := range rows {
			if r.Method == m && r.Budget > 0 {
				xys = append(xys, plotter.XY{X: float64(r.Budget), Y: value(r)})
			}
		}
		slices.SortFunc(xys, func(a, b plotter.XY) int { return int(a.X - b.X) })
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		line.Color, points.Color = plotutil.Color(i), plotutil.Color(i)
		line.Width = vg.Points(1.5)
		points.Shape = plotutil.Shape(i)
		p.Add(line, points)
		p.Legend.Add(m, line, points)
	}
	for _, r := range rows {
		if r.Method != "full" || len(bs) == 0 {
			continue
		}
		full, err := plotter.NewLine(plotter.XYs{{X: bs[0] / 1.25, Y: value(r)}, {X: bs[len(bs)-1] * 1.25, Y: value(r)}})
		if err != nil {
			return err
		}
		full.Color = color.Black
		full.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		full.Width = vg.Points(1.5)
		p.Add(full)
		p.Legend.Add("full attention", full)
		break
	}
	return nil
}

// ScoreVsBudget is one panel per workload: each sparse method's score
// versus its budget, full attention dashed.
func ScoreVsBudget(rows []grid.Row) ([][]*plot.Plot, error) {
	keys, by := panels(rows)
	var row []*plot.Plot
	for _, k := range keys {
		rs := by[k]
		if len(budgets(rs)) == 0 {
			continue // full attention alone: nothing varies with the budget
		}
		p := newPlot(k.title(), budgetLabel, scoreLabel(rs[0].Metric))
		if err := methodLines(p, rs, func(r grid.Row) float64 { return r.Score }); err != nil {
			return nil, err
		}
		switch rs[0].Metric { // task scores on their whole scale, so panels compare
		case "ruler":
			p.Y.Min, p.Y.Max = 0, 100
		case "starc":
			p.Y.Min, p.Y.Max = 0, 1
		}
		row = append(row, p)
	}
	return wrap(row, 3), nil
}

// CostVsBudget is, per workload, K rows activated per query head per step
// (top) and PIM attention energy per token (bottom) versus budget.
func CostVsBudget(rows []grid.Row) ([][]*plot.Plot, error) {
	keys, by := panels(rows)
	top, bottom := []*plot.Plot{}, []*plot.Plot{}
	hasPIM := slices.ContainsFunc(rows, func(r grid.Row) bool { return r.PIMEnergyNJ > 0 })
	for _, k := range keys {
		rs := by[k]
		if len(budgets(rs)) == 0 {
			continue // full attention alone: nothing varies with the budget
		}
		p := newPlot(k.title(), budgetLabel, "K rows per query head per step")
		if err := methodLines(p, rs, func(r grid.Row) float64 { return r.RowsPerHead }); err != nil {
			return nil, err
		}
		top = append(top, p)
		if hasPIM {
			q := newPlot(k.title(), budgetLabel, "PIM attention energy (nJ/token)")
			if err := methodLines(q, rs, func(r grid.Row) float64 { return r.PIMEnergyNJ }); err != nil {
				return nil, err
			}
			bottom = append(bottom, q)
		}
	}
	if len(top) == 0 {
		return nil, nil
	}
	if !hasPIM {
		return [][]*plot.Plot{top}, nil
	}
	return [][]*plot.Plot{top, bottom}, nil
}

// ScoreVsEnergy is one panel per workload: every cell's score versus its
// PIM attention energy per token, with the Pareto front (no other cell
// has both less energy and a better score) drawn through its cells.
func ScoreVsEnergy(rows []grid.Row) ([][]*plot.Plot, error) {
	if !slices.ContainsFunc(rows, func(r grid.Row) bool { return r.PIMEnergyNJ > 0 }) {
		return nil, nil // the KV cache was not in the device: no energy
	}
	keys, by := panels(rows)
	var row []*plot.Plot
	for _, k := range keys {
		rs := by[k]
		lower := rs[0].Metric == "perplexity"
		p := newPlot(k.title(), "PIM attention energy (nJ/token)", scoreLabel(rs[0].Metric))
		all := append([]string{"full"}, methods(rs)...)
		for i, m := range all {
			var xys plotter.XYs
			for _, r := range rs {
				if r.Method == m {
					xys = append(xys, plotter.XY{X: r.PIMEnergyNJ, Y: r.Score})
				}
			}
			if len(xys) == 0 {
				continue
			}
			s, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, err
			}
			if m == "full" {
				s.Color, s.Shape = color.Black, draw.CrossGlyph{}
			} else {
				s.Color, s.Shape = plotutil.Color(i-1), plotutil.Shape(i-1)
			}
			s.Radius = vg.Points(3.5)
			p.Add(s)
			p.Legend.Add(m, s)
		}
		front := ParetoFront(rs, lower)
		var xys plotter.XYs
		for _, r := range front {
			xys = append(xys, plotter.XY{X: r.PIMEnergyNJ, Y: r.Score})
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		line.Color = color.RGBA{R: 200, A: 255}
		line.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(line)
		p.Legend.Add("Pareto front", line)
		// Full attention usually sits top right (most energy, best score):
		// the legend goes top left, and the energy axis gets a margin so no
		// marker is cut at the frame.
		p.Legend.Left = true
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, r := range rs {
			lo, hi = math.Min(lo, r.PIMEnergyNJ), math.Max(hi, r.PIMEnergyNJ)
		}
		if margin := 0.08 * (hi - lo); margin > 0 {
			p.X.Min, p.X.Max = lo-margin, hi+margin
		}
		switch rs[0].Metric {
		case "ruler":
			p.Y.Min, p.Y.Max = 0, 100
		case "starc":
			p.Y.Min, p.Y.Max = 0, 1
		}
		row = append(row, p)
	}
	return wrap(row, 3), nil
}

// ParetoFront is the cells no other cell dominates (at most the energy and
// at least as good a score, one of them strictly), by increasing energy.
// lower says a lower score is better (perplexity).
func ParetoFront(rows []grid.Row, lower bool) []grid.Row {
	better := func(a, b float64) bool { // a strictly better than b
		if lower {
			return a < b
		}
		return a > b
	}
	var front []grid.Row
	for _, r := range rows {
		dominated := false
		for _, o := range rows {
			if o.PIMEnergyNJ <= r.PIMEnergyNJ && !better(r.Score, o.Score) &&
				(o.PIMEnergyNJ < r.PIMEnergyNJ || better(o.Score, r.Score)) {
				dominated = true
				break
			}
		}
		if !dominated {
			front = append(front, r)
		}
	}
	slices.SortStableFunc(front, func(a, b grid.Row) int {
		switch {
		case a.PIMEnergyNJ < b.PIMEnergyNJ:
			return -1
		case a.PIMEnergyNJ > b.PIMEnergyNJ:
			return 1
		}
		return 0
	})
	return front
}

// heat is a depth × length grid of mean scores.
type heat struct {
	lengths, depths []float64
	z               [][]float64 // [depth][length], NaN = no cell
}

func (h heat) Dims() (c, r int)   { return len(h.lengths), len(h.depths) }
func (h heat) Z(c, r int) float64 { return h.z[r][c] }
func (h heat) X(c int) float64    { return float64(c) }
func (h heat) Y(r int) float64    { return float64(r) }

// NeedleHeatmaps is one panel per cell configuration (method and budget)
// of the needle tasks with fixed depths: the mean score over the needle
// tasks at each (depth, length), depth down, length across.
func NeedleHeatmaps(rows []grid.Row) ([][]*plot.Plot, error) {
	type cfg struct {
		method string
		budget int
	}
	var cfgs []cfg
	var lengths, depths []float64
	for _, r := range rows {
		if r.Depth == nil || !strings.HasPrefix(r.Task, "niah_") {
			continue
		}
		c := cfg{r.Method, r.Budget}
		if !slices.Contains(cfgs, c) {
			cfgs = append(cfgs, c)
		}
		if !slices.Contains(lengths, float64(r.Length)) {
			lengths = append(lengths, float64(r.Length))
		}
		if !slices.Contains(depths, float64(*r.Depth)) {
			depths = append(depths, float64(*r.Depth))
		}
	}
	if len(cfgs) == 0 {
		return nil, nil
	}
	slices.Sort(lengths)
	slices.Sort(depths)
	var out []*plot.Plot
	for _, c := range cfgs {
		sum := make([][]float64, len(depths))
		n := make([][]int, len(depths))
		for i := range sum {
			sum[i], n[i] = make([]float64, len(lengths)), make([]int, len(lengths))
		}
		metric := ""
		for _, r := range rows {
			if r.Depth == nil || r.Method != c.method || r.Budget != c.budget || !strings.HasPrefix(r.Task, "niah_") {
				continue
			}
			d, l := slices.Index(depths, float64(*r.Depth)), slices.Index(lengths, float64(r.Length))
			sum[d][l] += r.Score
			n[d][l]++
			metric = r.Metric
		}
		h := heat{lengths: lengths, depths: depths, z: sum}
		var labels plotter.XYLabels
		for d := range depths {
			for l := range lengths {
				if n[d][l] == 0 {
					sum[d][l] = math.NaN()
					continue
				}
				sum[d][l] /= float64(n[d][l])
				labels.XYs = append(labels.XYs, plotter.XY{X: float64(l), Y: float64(d)})
				labels.Labels = append(labels.Labels, strconv.FormatFloat(sum[d][l], 'f', 1, 64))
			}
		}
		title := c.method
		if c.budget > 0 {
			title += " at budget " + strconv.Itoa(c.budget)
		}
		p := newPlot(title+": "+scoreLabel(metric), "context length (tokens)", "needle depth (%)")
		if _, err := addScoreCells(p, h, labels, metric, indexTicks(lengths), indexTicks(depths)); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return wrap(out, 3), nil
}

// addScoreCells draws h on p as cells coloured on the score scale of
// metric (red 0 to green at the best score, grey where there is no cell),
// each labelled by labels, ticked by xt across and yt down (first row at
// the top). The labels are returned for styling.
func addScoreCells(p *plot.Plot, h heat, labels plotter.XYLabels, metric string, xt, yt plot.ConstantTicks) (*plotter.Labels, error) {
	hi := 100.0
	if metric == "starc" {
		hi = 1
	}
	hm := plotter.NewHeatMap(h, scorePalette(64))
	hm.Min, hm.Max = 0, hi
	hm.NaN = color.Gray{Y: 200}
	p.Add(hm)
	lab, err := plotter.NewLabels(labels)
	if err != nil {
		return nil, err
	}
	for i := range lab.TextStyle {
		lab.TextStyle[i].XAlign, lab.TextStyle[i].YAlign = draw.XCenter, draw.YCenter
	}
	p.Add(lab)
	p.X.Tick.Marker, p.Y.Tick.Marker = xt, yt
	cols, rows := h.Dims()
	p.X.Min, p.X.Max = -0.5, float64(cols)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(rows)-0.5
	p.Y.Scale = plot.InvertedScale{Normalizer: plot.LinearScale{}}
	return lab, nil
}

// scorePalette runs from red (score 0) through pale yellow to green (the
// best score), so a failing cell stands out and text stays readable.
type scorePalette int

func (n scorePalette) Colors() []color.Color {
	stops := [3][3]float64{{215, 48, 39}, {255, 255, 191}, {26, 152, 80}}
	out := make([]color.Color, n)
	for i := range out {
		t := float64(i) / float64(n-1) * 2
		a, b := stops[0], stops[1]
		if t > 1 {
			a, b, t = stops[1], stops[2], t-1
		}
		mix := func(k int) uint8 { return uint8(a[k] + (b[k]-a[k])*t + 0.5) }
		out[i] = color.RGBA{R: mix(0), G: mix(1), B: mix(2), A: 255}
	}
	return out
}

func indexTicks(values []float64) plot.ConstantTicks {
	var t plot.ConstantTicks
	for i, v := range values {
		t = append(t, plot.Tick{Value: float64(i), Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return t
}

// wrap lays panels out in rows of at most cols.
func wrap(panels []*plot.Plot, cols int) [][]*plot.Plot {
	if len(panels) == 0 {
		return nil
	}
	cols = min(cols, len(panels))
	var out [][]*plot.Plot
	for i := 0; i < len(panels); i += cols {
		row := make([]*plot.Plot, cols)
		copy(row, panels[i:min(i+cols, len(panels))])
		out = append(out, row)
	}
	return out
}

// headroom raises the top of every panel's y axis by a third of its data
// range, so the legend in the top right corner covers no point.
func headroom(panels [][]*plot.Plot) {
	for _, row := range panels {
		for _, p := range row {
			if p == nil {
				continue
			}
			if _, inverted := p.Y.Scale.(plot.InvertedScale); inverted {
				continue // the heatmap has no legend
			}
			span := p.Y.Max - p.Y.Min
			if span <= 0 {
				span = math.Max(math.Abs(p.Y.Max), 1)
			}
			p.Y.Max += span / 3
		}
	}
}

// Size is the size of a figure of panels.
func Size(panels [][]*plot.Plot) (w, h vg.Length) {
	return vg.Length(len(panels[0])) * PanelWidth, vg.Length(len(panels)) * PanelHeight
}

// Save draws panels into path (.png or .svg) at Size, written atomically.
func Save(panels [][]*plot.Plot, path string) error {
	w, h := Size(panels)
	return SaveSized(panels, path, w, h)
}

// SaveSized draws panels into path (.png or .svg) as a w × h figure,
// written atomically.
func SaveSized(panels [][]*plot.Plot, path string, w, h vg.Length) error {
	var canvas vg.CanvasSizer
	var write func(*os.File) error
	switch filepath.Ext(path) {
	case ".png":
		img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI))
		canvas = img
		write = func(f *os.File) error { _, err := vgimg.PngCanvas{Canvas: img}.WriteTo(f); return err }
	case ".svg":
		svg := vgsvg.New(w, h)
		canvas = svg
		write = func(f *os.File) error { _, err := svg.WriteTo(f); return err }
	default:
		return fmt.Errorf("plot: %s: want .png or .svg", path)
	}
	dc := draw.New(canvas)
	tiles := draw.Tiles{Rows: len(panels), Cols: len(panels[0]), PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(panels, tiles, dc)
	for j := range panels {
		for i, p := range panels[j] {
			if p != nil {
				p.Draw(canvases[j][i])
			}
		}
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("plot: writing %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// TaskScores is one panel per context length of the task rows without a
// fixed needle depth: a matrix of scores, one column per task (RULER's
// average last, when the table has it) and one row per cell (method and
// budget), coloured and labelled like the needle heatmap. It suits a run
// of many tasks at one or two budgets, where score versus budget has a
// single point per method.
func TaskScores(rows []grid.Row) ([][]*plot.Plot, error) {
	var lengths []int
	for _, r := range rows {
		if r.Kind == "task" && r.Depth == nil && !slices.Contains(lengths, r.Length) {
			lengths = append(lengths, r.Length)
		}
	}
	slices.Sort(lengths)
	var out []*plot.Plot
	for _, n := range lengths {
		var tasks, cells []string
		score := map[[2]string]float64{}
		metric := ""
		for _, r := range rows {
			if r.Kind != "task" || r.Depth != nil || r.Length != n {
				continue
			}
			task := r.Task
			if task == "" {
				task = "average"
			}
			cell := r.Method
			if r.Budget > 0 {
				cell += "-" + strconv.Itoa(r.Budget)
			}
			if !slices.Contains(tasks, task) {
				tasks = append(tasks, task)
			}
			if !slices.Contains(cells, cell) {
				cells = append(cells, cell)
			}
			score[[2]string{cell, task}] = r.Score
			metric = r.Metric
		}
		if i := slices.Index(tasks, "average"); i >= 0 {
			tasks = append(slices.Delete(tasks, i, i+1), "average")
		}
		xs, ys := make([]float64, len(tasks)), make([]float64, len(cells))
		z := make([][]float64, len(cells))
		var labels plotter.XYLabels
		for c, cell := range cells {
			ys[c] = float64(c)
			z[c] = make([]float64, len(tasks))
			for t, task := range tasks {
				xs[t] = float64(t)
				v, ok := score[[2]string{cell, task}]
				if !ok {
					z[c][t] = math.NaN()
					continue
				}
				z[c][t] = v
				labels.XYs = append(labels.XYs, plotter.XY{X: float64(t), Y: float64(c)})
				labels.Labels = append(labels.Labels, strconv.FormatFloat(v, 'f', scoreDigits(metric), 64))
			}
		}
		p := newPlot(fmt.Sprintf("%s at %d tokens", scoreLabel(metric), n), "", "")
		lab, err := addScoreCells(p, heat{lengths: xs, depths: ys, z: z}, labels, metric, nameTicks(tasks), nameTicks(cells))
		if err != nil {
			return nil, err
		}
		for i := range lab.TextStyle {
			lab.TextStyle[i].Font.Size = vg.Points(8)
		}
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YTop
		out = append(out, p)
	}
	return wrap(out, 1), nil
}

// TaskScoresSize is the size of the task score figure: two panel widths
// across (the task names need it), one panel height per length.
func TaskScoresSize(panels [][]*plot.Plot) (w, h vg.Length) {
	return 2 * PanelWidth, vg.Length(len(panels)) * PanelHeight
}

func scoreDigits(metric string) int {
	if metric == "starc" {
		return 2
	}
	return 0
}

// nameTicks labels the integer positions 0..len(names)-1 with names.
func nameTicks(names []string) plot.ConstantTicks {
	var t plot.ConstantTicks
	for i, name := range names {
		t = append(t, plot.Tick{Value: float64(i), Label: name})
	}
	return t
}
