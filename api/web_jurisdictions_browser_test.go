package api_test

import (
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dsr-project/dsr/internal/domain"
)

func TestBrowserFormOffersEveryJurisdictionAndSendsColorado(t *testing.T) {
	h := newHarness(t, false)
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	ctx := newBrowser(t, false)
	browse(t, ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#type-restrict")))
	offered := browserValue(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#jurisdiction option")].map(o => o.value)`))
	for _, j := range domain.AllJurisdictions() {
		if !slices.Contains(offered, string(j)) {
			t.Errorf("the form offers %v, without %s", offered, j)
		}
	}
	browse(t, ctx, chromedp.SetValue(chromedp.CSS("#jurisdiction"), "cpa"))
	checkPage(t, ctx, "request-form-colorado")
	limitMarketingByForm(t, ctx, "someone@example.com")
	if len(h.engine.inputs) != 1 {
		t.Fatalf("started %d workflows, want 1", len(h.engine.inputs))
	}
	in := h.engine.inputs[0]
	if in.Jurisdiction != domain.JurisdictionCPA || in.DueAt.Sub(in.ReceivedAt) != 45*24*time.Hour {
		t.Errorf("started a %s request due %v after receipt, want cpa and 45 days", in.Jurisdiction, in.DueAt.Sub(in.ReceivedAt))
	}
}
