// Package bench measures dsr against the engine it runs on. Every figure that matters is a
// ratio against a baseline measured in the same run on the same server, because the machines
// it runs on are shared and noisy.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Figure is one measured number. Goal, when set, is the pass condition in words ("≥ 0.8x
// baseline"), and Pass says whether the run met it.
type Figure struct {
	Scenario string  `json:"scenario"`
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Goal     string  `json:"goal,omitempty"`
	Pass     *bool   `json:"pass,omitempty"`
}

// Scenario is one measurement; it returns its figures or an error that stops the run.
type Scenario struct {
	Name string
	Run  func(ctx context.Context, progress io.Writer) ([]Figure, error)
}

// Machine describes where a run happened, so figures from different runs are not mixed up.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Engine    string `json:"engine"`  // the Temporal server: "embedded dev server (SQLite)" or an address
	Storage   string `json:"storage"` // dsr's database engine
}

// Result is a whole run.
type Result struct {
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	Machine  Machine       `json:"machine"`
	Figures  []Figure      `json:"figures"`
}

// DescribeMachine fills what the process can see of the machine.
func DescribeMachine(engine, storage string) Machine {
	return Machine{
		CPUs: runtime.NumCPU(), CPUModel: cpuModel(), GoVersion: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, Engine: engine, Storage: storage,
	}
}

func cpuModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// Run runs the scenarios in order and collects their figures.
func Run(ctx context.Context, m Machine, scenarios []Scenario, progress io.Writer) (Result, error) {
	res := Result{Started: time.Now().UTC(), Machine: m}
	for _, s := range scenarios {
		fmt.Fprintf(progress, "== %s\n", s.Name)
		figs, err := s.Run(ctx, progress)
		if err != nil {
			return res, fmt.Errorf("scenario %s: %w", s.Name, err)
		}
		for i := range figs {
			figs[i].Scenario = s.Name
		}
		res.Figures = append(res.Figures, figs...)
	}
	res.Duration = time.Since(res.Started)
	return res, nil
}

// Ratio returns a figure comparing got with base and whether it meets the goal: at least
// (or, when lowerIsBetter, at most) limit times the baseline.
func Ratio(name string, got, base, limit float64, lowerIsBetter bool) Figure {
	r := 0.0
	if base > 0 {
		r = got / base
	}
	pass := r >= limit
	goal := fmt.Sprintf("≥ %.1fx baseline", limit)
	if lowerIsBetter {
		pass, goal = r <= limit && r > 0, fmt.Sprintf("≤ %.1fx baseline", limit)
	}
	return Figure{Name: name, Value: r, Unit: "x", Goal: goal, Pass: &pass}
}

// Percentile returns the p-th percentile (0-100) of durations, in milliseconds.
func Percentile(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p / 100)
	return float64(s[i]) / float64(time.Millisecond)
}

// WriteJSON writes the run as indented JSON.
func WriteJSON(w io.Writer, r Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes the run as a Markdown table preceded by the machine's description.
func WriteMarkdown(w io.Writer, r Result) error {
	m := r.Machine
	fmt.Fprintf(w, "Run %s, %s; %d CPUs (%s), %s, %s; engine: %s; storage: %s\n\n",
		r.Started.Format(time.RFC3339), r.Duration.Round(time.Second), m.CPUs, m.CPUModel, m.GoVersion, m.OS, m.Engine, m.Storage)
	fmt.Fprintln(w, "| scenario | figure | value | goal | met |")
	fmt.Fprintln(w, "| --- | --- | ---: | --- | --- |")
	for _, f := range r.Figures {
		met := ""
		if f.Pass != nil {
			met = map[bool]string{true: "yes", false: "**no**"}[*f.Pass]
		}
		_, err := fmt.Fprintf(w, "| %s | %s | %s %s | %s | %s |\n", f.Scenario, f.Name, formatValue(f.Value), f.Unit, f.Goal, met)
		if err != nil {
			return err
		}
	}
	return nil
}

func formatValue(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
