package api

import (
	"fmt"
	"math"
	"time"
)

// The metrics page's chart: bars per month, drawn on the server as SVG, so that it needs no
// script and obeys a style-src 'self' policy (classes in style.css colour it). The table
// beside it holds the same figures and is the accessible form.

// Chart geometry in SVG user units; the viewBox scales it to the width it is given.
const (
	chartWidth  = 720
	chartHeight = 260
	chartLeft   = 40 // room for the count axis
	chartRight  = 8
	chartTop    = 12
	chartBottom = 40 // room for the month labels
	chartTicks  = 4
)

// chartSeries are the bars of each month, in drawing order.
var chartSeries = []struct{ Class, Label string }{
	{"bar-received", "Received"}, {"bar-complied", "Complied with"}, {"bar-denied", "Denied"},
}

type metricsChart struct {
	Width, Height int
	// Baseline is the y of zero; Left and Right bound the plot.
	Baseline, Left, Right float64
	// TickX is where the counts end, MonthY and YearY the lines of the month labels.
	TickX, MonthY, YearY float64
	Bars                 []chartBar
	Ticks                []chartTick
	Months               []chartMonth
	Legend               []chartLegend
}

type chartBar struct {
	Class      string
	X, Y, W, H float64
	Title      string
}

type chartTick struct {
	Y     float64
	Value int
}

type chartMonth struct {
	X           float64
	Label, Year string
}

type chartLegend struct {
	Class, Label string
	X            float64
}

// newMetricsChart draws the months of a report: received, complied with and denied, side by
// side. Its scale runs to a round number at or above the largest count.
func newMetricsChart(months []MonthSummary) metricsChart {
	c := metricsChart{
		Width: chartWidth, Height: chartHeight, Baseline: chartHeight - chartBottom,
		Left: chartLeft, Right: chartWidth - chartRight,
		TickX: chartLeft - 6, MonthY: chartHeight - chartBottom + 16, YearY: chartHeight - chartBottom + 32,
	}
	for i, s := range chartSeries {
		c.Legend = append(c.Legend, chartLegend{Class: s.Class, Label: s.Label, X: chartLeft + float64(i)*150})
	}
	if len(months) == 0 {
		return c
	}
	top := 0
	for _, m := range months {
		top = max(top, m.Received, m.Completed, m.Denied)
	}
	scaleMax := roundUp(top)
	plotHeight := c.Baseline - chartTop
	for i := 0; i <= chartTicks; i++ {
		v := scaleMax * i / chartTicks
		c.Ticks = append(c.Ticks, chartTick{Y: tenth(c.Baseline - plotHeight*float64(v)/float64(scaleMax)), Value: v})
	}
	group := (c.Right - c.Left) / float64(len(months))
	bar := group * 0.8 / float64(len(chartSeries))
	for i, m := range months {
		x0 := c.Left + float64(i)*group + group*0.1
		at, err := time.Parse("2006-01", m.Month)
		label, year := m.Month, ""
		if err == nil {
			label = at.Format("Jan")
			if i == 0 || at.Month() == time.January {
				year = at.Format("2006")
			}
		}
		c.Months = append(c.Months, chartMonth{X: tenth(x0 + group*0.4), Label: label, Year: year})
		for j, n := range []int{m.Received, m.Completed, m.Denied} {
			h := plotHeight * float64(n) / float64(scaleMax)
			c.Bars = append(c.Bars, chartBar{
				Class: chartSeries[j].Class, X: tenth(x0 + float64(j)*bar), Y: tenth(c.Baseline - h), W: tenth(bar), H: tenth(h),
				Title: fmt.Sprintf("%s, %s: %d", label+" "+at.Format("2006"), chartSeries[j].Label, n),
			})
		}
	}
	return c
}

// tenth rounds a coordinate to a tenth of a unit, which no screen can tell apart.
func tenth(x float64) float64 { return math.Round(x*10) / 10 }

// roundUp is the top of a scale at or above n whose ticks step by 1, 2 or 5 times a power
// of ten, so that every tick is a round whole number.
func roundUp(n int) int {
	for step := 1; ; step *= 10 {
		for _, f := range []int{1, 2, 5} {
			if top := f * step * chartTicks; top >= n {
				return top
			}
		}
	}
}
