package main

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	gridplot "starc/eval/grid/plot"
)

// Colours of the three methods: the attention part of a bar in the full
// colour, the rest of the decode step lighter (Fig. 11's stacked bars).
var (
	methodColors = []color.RGBA{{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, {R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, {R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}}
	barShift     = []float64{-0.27, 0, 0.27} // x offset of each method's bar inside a Lout group
)

func lighter(c color.RGBA) color.RGBA {
	mix := func(v uint8) uint8 { return uint8((int(v) + 2*255) / 3) }
	return color.RGBA{R: mix(c.R), G: mix(c.G), B: mix(c.B), A: 0xff}
}

// drawFigure draws Fig. 11 from source (a) as stacked bars (attention part
// dark, rest light), with the paper's totals (black triangles), sources (a′)
// (plus), (b) (circles), (c) (crosses) and (d) (squares) as markers on each bar: one panel per
// model, latency on the top row and energy below. The bar legend sits in the
// first panel, the marker legend in the second.
func drawFigure(points []point, path string) error {
	var rows [][]*plot.Plot
	for _, kind := range []string{"latency", "energy"} {
		var row []*plot.Plot
		for mi, mod := range models {
			p := plot.New()
			p.Title.Text = mod.Label + ": normalised " + kind + " per token"
			p.X.Label.Text = "decode length Lout (Lin 2K, batch 16, budget 1024)"
			p.Y.Label.Text = kind + " / full attention"
			p.Y.Min, p.Y.Max = 0, 1.45 // room above the bars for the legends
			p.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "0"}, {Value: 0.25}, {Value: 0.5, Label: "0.5"},
				{Value: 0.75}, {Value: 1, Label: "1.0"}})
			p.X.Min, p.X.Max = -0.5, float64(len(louts))-0.5
			var ticks []plot.Tick
			for i, lo := range louts {
				ticks = append(ticks, plot.Tick{Value: float64(i), Label: lo.Label})
			}
			p.X.Tick.Marker = plot.ConstantTicks(ticks)
			p.Add(plotter.NewGrid())
			markers := map[string]plotter.XYs{}
			for i, me := range methods {
				attn, rest := make(plotter.Values, len(louts)), make(plotter.Values, len(louts))
				for j, lo := range louts {
					a := find(points, srcArtifact, mod.Label, lo.Label, me.Key)
					v, va := a.Latency, a.LatencyAttn
					if kind == "energy" {
						v, va = a.Energy, a.EnergyAttn
					}
					attn[j], rest[j] = va, v-va
					x := float64(j) + barShift[i]
					lat, en := paperValues(mod.Label, lo.Label, me.Key)
					ref := lat
					if kind == "energy" {
						ref = en
					}
					markers["paper"] = append(markers["paper"], plotter.XY{X: x, Y: ref[0]})
					for _, src := range []string{srcNoPipe, srcOwn, srcAsIs, srcOwnAsIs} {
						q := find(points, src, mod.Label, lo.Label, me.Key)
						y := q.Latency
						if kind == "energy" {
							y = q.Energy
						}
						markers[src] = append(markers[src], plotter.XY{X: x, Y: y})
					}
				}
				width := vg.Points(17)
				ba, err := plotter.NewBarChart(attn, width)
				if err != nil {
					return err
				}
				ba.XMin = barShift[i]
				ba.Color = methodColors[i]
				ba.LineStyle.Width = 0
				br, err := plotter.NewBarChart(rest, width)
				if err != nil {
					return err
				}
				br.XMin = barShift[i]
				br.Color = lighter(methodColors[i])
				br.LineStyle.Width = 0
				br.StackOn(ba)
				p.Add(ba, br)
				if mi == 0 && kind == "latency" {
					p.Legend.Add(me.Label+" (a): attention | rest", ba, br)
				}
			}
			for _, m := range []struct {
				key, label string
				shape      draw.GlyphDrawer
				size       vg.Length
			}{
				{"paper", "paper (Fig. 11)", draw.TriangleGlyph{}, 4},
				{srcNoPipe, "(a′) = (a) without --pipeopt", draw.PlusGlyph{}, 4},
				{srcOwn, "(b) own SmolLM2 tables", draw.CircleGlyph{}, 3},
				{srcAsIs, "(c) artifact tables, GQA hardware", draw.CrossGlyph{}, 4},
				{srcOwnAsIs, "(d) own tables, GQA hardware", draw.SquareGlyph{}, 2.5},
			} {
				s, err := plotter.NewScatter(markers[m.key])
				if err != nil {
					return err
				}
				s.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: m.size, Shape: m.shape}
				p.Add(s)
				if mi == 1 && kind == "latency" {
					p.Legend.Add(m.label, s)
				}
			}
			p.Legend.Top = true
			p.Legend.Left = false
			p.Legend.TextStyle.Font.Size = vg.Points(7)
			row = append(row, p)
		}
		rows = append(rows, row)
	}
	return gridplot.Save(rows, path)
}
