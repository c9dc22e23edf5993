package api_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// The request page and a correction's task page fit a phone and a desktop: nothing is
// wider than the viewport, axe finds nothing, and the task form's records-kept rows are there to fill in.
func TestBrowserStaffRequestAndTaskPagesFitTheirViewport(t *testing.T) {
	h := newHarness(t, false)
	row := &requestdb.Request{
		ID: uuid.NewString(), Type: domain.TypeCorrect, Jurisdiction: domain.JurisdictionGDPR, Status: domain.StatusAwaitingManualTasks,
		Email: "ada.lovelace.with.a.rather.long.address@example.com", EmailHash: "h",
		Details:    `{"changes":[{"field":"postal_address","value":"12 St James's Square, London SW1Y 4JH"},{"field":"phone","value":"+44 20 7946 0815"}]}`,
		ReceivedAt: h.now, DueAt: h.now.AddDate(0, 1, 0), OriginalDueAt: h.now.AddDate(0, 1, 0), UpdatedAt: h.now,
	}
	if err := h.requests.CreateRequest(context.Background(), row); err != nil {
		t.Fatal(err)
	}
	task := openTask(t, h.requests, row.ID, "paper-archive")
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	token := h.token("carol", auth.RoleAnalyst)
	ctx := newBrowser(t, false)
	signInBrowser(t, ctx, srv.URL, token, "#queue")
	for _, page := range []struct{ name, path, sel string }{
		{"admin-request-manual-task", "/admin/requests/" + row.ID, "#actions"},
		{"admin-task-correction", "/admin/tasks/" + url.PathEscape(task), "#task-form"},
		{"admin-tasks", "/admin/tasks", "#tasks"},
	} {
		browse(t, ctx, chromedp.Navigate(srv.URL+page.path), chromedp.WaitVisible(chromedp.CSS(page.sel)))
		checkPage(t, ctx, page.name)
	}
}
