package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/bench"
	"github.com/dsr-project/dsr/internal/testenv"
)

// The smoke run: every scenario at its smallest size, in-process on the embedded dev
// server, so the harness cannot rot between full runs.
func TestBenchQuickWritesEveryScenarioFigures(t *testing.T) {
	dir := t.TempDir()
	var out syncBuffer
	args := []string{"bench", "--quick", "--out", dir, "--store-database-url", testenv.PostgresURL(t)}
	if err := run(t.Context(), args, &out, &out); err != nil {
		t.Fatalf("dsr bench --quick: %v\n%s", err, out.String())
	}
	raw, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res bench.Result
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if res.Machine.CPUs == 0 || res.Machine.GoVersion == "" || res.Machine.Engine == "" || res.Machine.Storage == "" {
		t.Errorf("machine %+v: want CPUs, Go version, engine and storage", res.Machine)
	}
	for _, name := range benchScenarioNames {
		var figs, ratios int
		for _, f := range res.Figures {
			if f.Scenario != name {
				continue
			}
			figs++
			if f.Pass != nil {
				ratios++
				if f.Value <= 0 {
					t.Errorf("%s: %s = %v, want a measured ratio", name, f.Name, f.Value)
				}
			}
		}
		if figs == 0 || ratios == 0 {
			t.Errorf("scenario %s: %d figures, %d with a goal; want both", name, figs, ratios)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "| scenario | figure |") || !strings.Contains(out.String(), string(md)) {
		t.Errorf("results.md is not the table printed:\n%s\nprinted:\n%s", md, out.String())
	}
}

func TestBenchRefusesAnUnknownScenarioBeforeStarting(t *testing.T) {
	var out syncBuffer
	err := run(t.Context(), []string{"bench", "--scenarios", "intake,nope", "--out", t.TempDir()}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("err = %v, want one naming the unknown scenario", err)
	}
	if strings.Contains(out.String(), "starting the stack") {
		t.Errorf("started the stack before refusing:\n%s", out.String())
	}
}

// A run that could only fail later (a scenario without its database, results that cannot
// be written) fails before the stack starts, saying why.
func TestBenchChecksItsPrerequisitesBeforeStarting(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scenarios", "stores", "--out", t.TempDir()}, "--store-database-url"},
		{[]string{"--scenarios", "intake", "--out", filepath.Join(notADir, "results")}, "--out"},
		{[]string{"--scenarios", "intake", "--out", t.TempDir(), "--cpuprofile", filepath.Join(notADir, "cpu.out")}, "--cpuprofile"},
		{[]string{"--scenarios", "fanout", "--out", t.TempDir(), "--fanout-stores", "0"}, "--fanout-stores"},
		{[]string{"--scenarios", "fanout", "--out", t.TempDir(), "--cpu-processes", "nonsense"}, "--cpu-processes"},
		{[]string{"--scenarios", "intake", "--out", t.TempDir(), "--temporal-address", "127.0.0.1:" + freePort(t)}, "--temporal-address"},
		{[]string{"--scenarios", "intake", "--out", t.TempDir(), "--database-url", "postgres://postgres@127.0.0.1:" + freePort(t) + "/none?connect_timeout=5"}, "PostgreSQL"},
	} {
		var out syncBuffer
		err := run(t.Context(), append([]string{"bench"}, tc.args...), &out, &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want one naming %s", tc.args, err, tc.want)
		}
		if strings.Contains(out.String(), "starting the stack") {
			t.Errorf("%v: started the stack before refusing:\n%s", tc.args, out.String())
		}
	}
}

// In a process started by dsr bench (the parked scenario's worker), the test binary stands
// in for the dsr binary: it runs the command line and exits before any test starts.
func init() {
	if os.Getenv(benchChildEnv) == "" {
		return
	}
	main()
	os.Exit(0)
}
