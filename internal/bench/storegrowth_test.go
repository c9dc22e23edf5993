package bench_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dsr-project/dsr/internal/bench"
	"github.com/dsr-project/dsr/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// figures indexes a run's figures by name.
func figures(t *testing.T, figs []bench.Figure) map[string]bench.Figure {
	t.Helper()
	out := map[string]bench.Figure{}
	for _, f := range figs {
		out[f.Name] = f
	}
	return out
}

func TestStoreGrowthMeasuresEverySizeThroughTheConnector(t *testing.T) {
	s := bench.StoreGrowth(bench.StoreGrowthOptions{DatabaseURL: testenv.PostgresURL(t), Sizes: []int{1000, 5000}, People: 4})
	var progress strings.Builder
	figs, err := s.Run(context.Background(), &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	got := figures(t, figs)
	for _, name := range []string{"review p50 at 1k", "suppress p50 at 1k", "review p50 at 5k", "suppress p50 at 5k"} {
		if f, ok := got[name]; !ok || f.Value <= 0 || f.Unit != "ms" {
			t.Errorf("figure %q = %+v, want a positive time in ms", name, f)
		}
	}
	for _, name := range []string{"review p50 5k / 1k", "suppress p50 5k / 1k"} {
		if f, ok := got[name]; !ok || f.Value <= 0 || f.Pass == nil {
			t.Errorf("figure %q = %+v, want a ratio with a verdict", name, f)
		}
	}
	if f := got["lookups planned with an index at 5k"]; f.Value != 3 || f.Pass == nil || !*f.Pass {
		t.Errorf("indexed lookups = %+v, want all 3", f)
	}
}

func TestStoreGrowthLeavesNoSchemaBehind(t *testing.T) {
	url := testenv.PostgresURL(t)
	before := schemaCount(t, url)
	if _, err := bench.StoreGrowth(bench.StoreGrowthOptions{DatabaseURL: url, Sizes: []int{777}, People: 1}).Run(context.Background(), io.Discard); err != nil {
		t.Fatal(err)
	}
	if after := schemaCount(t, url); after != before {
		t.Errorf("schemas after the run = %d, before = %d", after, before)
	}
}

// schemaCount counts the schemas of 777-people stores on the server of url; no other run
// uses that size, so runs elsewhere on the server do not disturb the count.
func schemaCount(t *testing.T, url string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'bench_store_777_%'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
