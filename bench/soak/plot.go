package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"
)

// series is one labelled line of a panel; NaN values leave a gap.
type series struct {
	name   string
	color  color.RGBA
	values []float64
}

// panel is one chart of the plot, sharing the x axis (seconds) with the
// others.
type panel struct {
	title  string
	series []series
}

// plot is a stack of panels over time, with an optional vertical marker
// (where the load ended).
type plot struct {
	title  string
	x      []float64 // seconds since the load began
	marker float64   // x of the marker; NaN for none
	label  string    // the marker's label
	panels []panel
}

var (
	white     = color.RGBA{255, 255, 255, 255}
	black     = color.RGBA{0, 0, 0, 255}
	grey      = color.RGBA{120, 120, 120, 255}
	gridGrey  = color.RGBA{225, 225, 225, 255}
	blue      = color.RGBA{31, 119, 180, 255}
	orange    = color.RGBA{230, 120, 20, 255}
	green     = color.RGBA{44, 160, 44, 255}
	red       = color.RGBA{214, 39, 40, 255}
	purple    = color.RGBA{148, 103, 189, 255}
	plotWidth = 1200
)

const (
	panelHeight = 250
	marginLeft  = 90
	marginRight = 60
	titleHeight = 40
	panelGap    = 50 // room for a panel's x labels and the next one's title
	textScale   = 2
)

// encode draws the plot as a PNG.
func (p *plot) encode(w io.Writer) error {
	height := titleHeight + len(p.panels)*(panelHeight+panelGap) + 10
	img := image.NewRGBA(image.Rect(0, 0, plotWidth, height))
	draw.Draw(img, img.Bounds(), &image.Uniform{white}, image.Point{}, draw.Src)
	drawText(img, marginLeft, 12, p.title, black, textScale)
	xmax := 1.0
	for _, x := range p.x {
		xmax = math.Max(xmax, x)
	}
	for i, pn := range p.panels {
		top := titleHeight + i*(panelHeight+panelGap) + 24
		p.drawPanel(img, pn, image.Rect(marginLeft, top, plotWidth-marginRight, top+panelHeight-24), xmax)
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("encoding the plot: %w", err)
	}
	return nil
}

func (p *plot) drawPanel(img *image.RGBA, pn panel, r image.Rectangle, xmax float64) {
	drawText(img, r.Min.X, r.Min.Y-20, pn.title, black, textScale)
	ymax := 0.0
	for _, s := range pn.series {
		for _, v := range s.values {
			if !math.IsNaN(v) {
				ymax = math.Max(ymax, v)
			}
		}
	}
	ystep := niceStep(ymax / 4)
	ytop := ystep * math.Ceil(ymax/ystep)
	if ytop == 0 {
		ytop = ystep
	}
	px := func(x float64) int { return r.Min.X + int(math.Round(x/xmax*float64(r.Dx()))) }
	py := func(y float64) int { return r.Max.Y - int(math.Round(y/ytop*float64(r.Dy()))) }
	// Grid and y labels.
	for y := 0.0; y <= ytop+ystep/2; y += ystep {
		yy := py(y)
		hline(img, r.Min.X, r.Max.X, yy, gridGrey)
		label := formatTick(y, ystep)
		drawText(img, r.Min.X-10-textWidth(label, textScale), yy-glyphH*textScale/2, label, black, textScale)
	}
	// x ticks and labels (seconds).
	xstep := niceStep(xmax / 10)
	for x := 0.0; x <= xmax+xstep/100; x += xstep {
		xx := px(x)
		vline(img, xx, r.Min.Y, r.Max.Y, gridGrey)
		vline(img, xx, r.Max.Y, r.Max.Y+5, black)
		label := formatTick(x, xstep)
		drawText(img, xx-textWidth(label, textScale)/2, r.Max.Y+9, label, black, textScale)
	}
	// The unit, past the last tick's label.
	last := formatTick(xstep*math.Floor(xmax/xstep+0.01), xstep)
	drawText(img, px(xstep*math.Floor(xmax/xstep+0.01))+textWidth(last, textScale)/2+8, r.Max.Y+9, "s", black, textScale)
	if !math.IsNaN(p.marker) && p.marker <= xmax {
		xx := px(p.marker)
		for y := r.Min.Y; y < r.Max.Y; y += 8 {
			vline(img, xx, y, min(y+4, r.Max.Y), grey)
		}
		lx := xx + 6
		if lx+textWidth(p.label, textScale) > r.Max.X {
			lx = xx - 6 - textWidth(p.label, textScale) // at the right edge: on its left
		}
		drawText(img, lx, r.Min.Y+6, p.label, grey, textScale)
	}
	// Axes.
	hline(img, r.Min.X, r.Max.X, r.Max.Y, black)
	vline(img, r.Min.X, r.Min.Y, r.Max.Y, black)
	// Lines, then the legend at the top right.
	for _, s := range pn.series {
		prevOK := false
		var x0, y0 int
		for i, v := range s.values {
			if i >= len(p.x) || math.IsNaN(v) {
				prevOK = false
				continue
			}
			x1, y1 := px(p.x[i]), py(v)
			if prevOK {
				thickLine(img, x0, y0, x1, y1, s.color)
			} else {
				dot(img, x1, y1, s.color)
			}
			x0, y0, prevOK = x1, y1, true
		}
	}
	// The legend goes on the title's line, right-aligned.
	lx, ly := r.Max.X, r.Min.Y-20
	for i := len(pn.series) - 1; i >= 0; i-- {
		s := pn.series[i]
		lx -= textWidth(s.name, textScale)
		drawText(img, lx, ly, s.name, s.color, textScale)
		lx -= 30
		thickLine(img, lx, ly+glyphH, lx+22, ly+glyphH, s.color)
		lx -= 24
	}
}

// niceStep rounds a raw step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*pow {
			return m * pow
		}
	}
	return 10 * pow
}

// formatTick prints a tick value with as many decimals as its step needs.
func formatTick(v, step float64) string {
	decimals := 0
	if step < 1 {
		decimals = int(math.Ceil(-math.Log10(step)))
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) {
	for x := x0; x <= x1; x++ {
		img.SetRGBA(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) {
	for y := y0; y <= y1; y++ {
		img.SetRGBA(x, y, c)
	}
}

func dot(img *image.RGBA, x, y int, c color.RGBA) {
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			img.SetRGBA(x+dx, y+dy, c)
		}
	}
}

// thickLine draws a line two pixels wide (Bresenham's, doubled).
func thickLine(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		img.SetRGBA(x0, y0, c)
		img.SetRGBA(x0+1, y0, c)
		img.SetRGBA(x0, y0+1, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}
