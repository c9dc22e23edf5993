package api_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/discover"
)

// demoWithUnmappedEmail sets up the demo company with an e-mail column its data map does
// not name, filled from the mapped one, and a scanner of it.
func demoWithUnmappedEmail(t *testing.T) discover.Scanner {
	t.Helper()
	ctx := context.Background()
	m, err := demo.Setup(ctx, "sqlite:"+filepath.Join(t.TempDir(), "demo"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range m.Stores {
		if s.Kind != datamap.KindSQL || s.Name != "newsletter" {
			continue
		}
		db, err := sqlstore.OpenDB(ctx, s.Connection)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range []string{`ALTER TABLE subscriptions ADD COLUMN referrer_email TEXT`, `UPDATE subscriptions SET referrer_email = email`} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	return discover.Scanner{Maps: []*datamap.Map{m}}
}

func TestDataMapPageFindsAnUnmappedEmailColumnWithoutShowingValues(t *testing.T) {
	scanner := demoWithUnmappedEmail(t)
	h := newHarness(t, true, func(o *api.Options) { o.DataMapScanner = scanner })
	admin := h.token("dana", auth.RoleAdmin)

	page := h.do(http.MethodGet, "/admin/datamap", "", "", admin)
	if page.code != http.StatusOK || !strings.Contains(page.body, `id="datamap-scan"`) {
		t.Fatalf("GET = %d, want the page with its scan button:\n%s", page.code, page.body)
	}
	if strings.Contains(page.body, "referrer_email") {
		t.Error("the page scanned before the admin asked")
	}

	scan := h.do(http.MethodPost, "/admin/datamap", "application/x-www-form-urlencoded", "", admin)
	if scan.code != http.StatusOK {
		t.Fatalf("POST = %d:\n%s", scan.code, scan.body)
	}
	for _, want := range []string{"table subscriptions", "<td>referrer_email</td><td>an e-mail address</td>", "referrer_email: email_address"} {
		if !strings.Contains(scan.body, want) {
			t.Errorf("the scan does not show %q:\n%s", want, scan.body)
		}
	}
	if strings.Contains(scan.body, "@example.") {
		t.Errorf("the scan shows a sampled address:\n%s", scan.body)
	}
}

func TestDataMapPageIsForAdminsOnly(t *testing.T) {
	h := newHarness(t, true, func(o *api.Options) { o.DataMapScanner = demoWithUnmappedEmail(t) })
	analyst := h.token("eve", auth.RoleAnalyst)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		if got := h.do(method, "/admin/datamap", "application/x-www-form-urlencoded", "", analyst); got.code != http.StatusForbidden {
			t.Errorf("%s by an analyst = %d, want 403", method, got.code)
		}
	}
	if got := h.do(http.MethodGet, "/admin/requests", "", "", analyst); strings.Contains(got.body, `href="/admin/datamap"`) {
		t.Error("an analyst's menu offers the data map page")
	}
}

func TestDataMapPageSaysWhenThereIsNothingToScan(t *testing.T) {
	h := newHarness(t, true)
	admin := h.token("dana", auth.RoleAdmin)
	if got := h.do(http.MethodGet, "/admin/datamap", "", "", admin); got.code != http.StatusOK || !strings.Contains(got.body, `id="datamap-none"`) {
		t.Errorf("GET = %d, want the page saying there is nothing to scan:\n%s", got.code, got.body)
	}
	if got := h.do(http.MethodPost, "/admin/datamap", "application/x-www-form-urlencoded", "", admin); got.code != http.StatusConflict {
		t.Errorf("POST = %d, want 409", got.code)
	}
}
