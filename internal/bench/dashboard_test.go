package bench_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/bench"
	"github.com/dsr-project/dsr/internal/testenv"
)

func TestDashboardTimesEveryListAndRemovesItsRows(t *testing.T) {
	target, dbURL := startTarget(t)
	var progress strings.Builder
	figs, err := bench.Dashboard(bench.DashboardOptions{Target: target, DatabaseURL: dbURL, Rows: 3000, Rounds: 3}).
		Run(context.Background(), &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	got := figures(t, figs)
	for _, name := range []string{"newest first p95", "open queue by due date p95", "overdue p95", "type and jurisdiction p95",
		"one analyst's queue p95", "keyset pages 1-20 p95", "all lists p50"} {
		if f, ok := got[name]; !ok || f.Value <= 0 || f.Unit != "ms" {
			t.Errorf("figure %q = %+v, want a positive time in ms", name, f)
		}
	}
	if f := got["all lists p95"]; f.Goal != "≤ 50 ms" || f.Pass == nil {
		t.Errorf("overall p95 = %+v, want a verdict against 50 ms", f)
	}
	db := testenv.OpenMigrated(t, dbURL)
	var left int64
	if err := db.Table("requests").Count(&left).Error; err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d seeded requests left behind", left)
	}
}
