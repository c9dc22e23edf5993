package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/dsr-project/dsr/internal/telemetry"
)

// metricRef finds the dsr and Temporal SDK metric names a PromQL expression uses; every
// series dsr exposes beyond the Go runtime's starts with one of the two prefixes.
var metricRef = regexp.MustCompile(`\b(?:dsr|temporal)_[a-z0-9_]+\b`)

// exposedMetrics is every series name dsr can expose: its own metric families (from
// internal/telemetry), with the _bucket, _sum and _count series of histograms, and the
// Temporal SDK's, read from the constants in the SDK's source that go.mod pins.
func exposedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	for _, name := range telemetry.MetricNames() {
		known[name] = true
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			known[name+suffix] = true
		}
	}
	for _, name := range temporalSDKMetrics(t) {
		// The SDK's timers end in _latency; they become histograms in seconds. Its
		// counters are exported as they are named (up-down counters get no _total).
		if strings.HasSuffix(name, "_latency") {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				known[name+"_seconds"+suffix] = true
			}
			continue
		}
		known[name] = true
	}
	return known
}

var sdkConst = regexp.MustCompile(`(?m)^\s*(\w+)\s*=\s*(\w+)?\s*\+?\s*"([a-z0-9_]+)"`)

// temporalSDKMetrics evaluates the SDK's metric name constants (X = Prefix + "name").
func temporalSDKMetrics(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/sdk").Output()
	if err != nil {
		t.Fatalf("locate the Temporal SDK: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "internal", "common", "metrics", "constants.go"))
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{}
	var names []string
	for _, m := range sdkConst.FindAllStringSubmatch(string(src), -1) {
		v := values[m[2]] + m[3]
		values[m[1]] = v
		if strings.HasPrefix(v, "temporal_") {
			names = append(names, v)
		}
	}
	if len(names) < 20 {
		t.Fatalf("read only %d metric names from the SDK's constants.go; has its layout changed?", len(names))
	}
	return names
}

func checkExpressions(t *testing.T, where string, exprs []string, known map[string]bool) {
	t.Helper()
	if len(exprs) == 0 {
		t.Fatalf("%s: no expressions found", where)
	}
	for _, expr := range exprs {
		refs := metricRef.FindAllString(expr, -1)
		if len(refs) == 0 {
			t.Errorf("%s: %q uses no dsr or Temporal metric", where, expr)
		}
		for _, name := range refs {
			if !known[name] {
				t.Errorf("%s: %q uses %s, which dsr does not expose", where, expr, name)
			}
		}
	}
}

func TestGrafanaDashboardUsesOnlyExposedMetrics(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "grafana", "dsr-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	var exprs []string
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			exprs = append(exprs, target.Expr)
		}
	}
	checkExpressions(t, "dashboard", exprs, exposedMetrics(t))
}

func TestPrometheusAlertsUseOnlyExposedMetricsAndAreDocumented(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	runbook, err := os.ReadFile(filepath.Join(repoRoot, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("alert %s: severity %q, want warning or critical", r.Alert, s)
			}
			if !strings.Contains(string(runbook), "### "+r.Alert+"\n") {
				t.Errorf("alert %s has no section \"### %s\" in docs/operations.md", r.Alert, r.Alert)
			}
			if want := "docs/operations.md#" + strings.ToLower(r.Alert); r.Annotations["runbook"] != want {
				t.Errorf("alert %s: runbook annotation %q, want %q", r.Alert, r.Annotations["runbook"], want)
			}
		}
	}
	checkExpressions(t, "alerts.yaml", exprs, exposedMetrics(t))
}

// The check itself must catch a name dsr does not expose.
func TestMetricsCheckCatchesUnknownNames(t *testing.T) {
	known := exposedMetrics(t)
	for _, bad := range []string{"dsr_requests_totl", "temporal_workflow_task_execution_latency_bucket", "dsr_store_call_errors"} {
		if known[bad] {
			t.Errorf("%s counts as exposed", bad)
		}
	}
	for _, good := range []string{"dsr_requests", "dsr_http_requests_total", "temporal_request", "temporal_workflow_task_execution_latency_seconds_bucket"} {
		if !known[good] {
			t.Errorf("%s does not count as exposed", good)
		}
	}
}
