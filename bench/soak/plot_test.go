package main

import (
	"bytes"
	"image/png"
	"math"
	"testing"
)

// TestPlot draws a plot with gaps, a flat series and a marker, and checks
// it decodes as a PNG of the expected size with something drawn.
func TestPlot(t *testing.T) {
	p := &plot{title: "test: 1 events/s", marker: 3, label: "load ends"}
	var a, b []float64
	for i := range 6 {
		p.x = append(p.x, float64(i+1))
		a = append(a, float64(i*i))
		b = append(b, 0)
	}
	a[2] = math.NaN()
	p.panels = []panel{
		{title: "one", series: []series{{name: "squares", color: blue, values: a}, {name: "zero", color: red, values: b}}},
		{title: "empty", series: []series{{name: "none", color: green, values: []float64{math.NaN()}}}},
	}
	var buf bytes.Buffer
	if err := p.encode(&buf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("the plot is not a PNG: %v", err)
	}
	if w := img.Bounds().Dx(); w != plotWidth {
		t.Errorf("width %d, want %d", w, plotWidth)
	}
	blues := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			if r, g, bl, _ := img.At(x, y).RGBA(); r>>8 == uint32(blue.R) && g>>8 == uint32(blue.G) && bl>>8 == uint32(blue.B) {
				blues++
			}
		}
	}
	if blues < 100 {
		t.Errorf("only %d pixels of the blue series drawn", blues)
	}
}

func TestNiceStep(t *testing.T) {
	for _, c := range []struct{ raw, want float64 }{{0, 1}, {0.3, 0.5}, {1, 1}, {1.5, 2}, {3, 5}, {7, 10}, {120, 200}} {
		if got := niceStep(c.raw); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("niceStep(%v) = %v, want %v", c.raw, got, c.want)
		}
	}
}

func TestEveryGlyphIsFiveBySeven(t *testing.T) {
	for r, g := range glyphs {
		for i, line := range g {
			if len(line) != glyphW {
				t.Errorf("glyph %q row %d is %d wide", r, i, len(line))
			}
		}
	}
}
