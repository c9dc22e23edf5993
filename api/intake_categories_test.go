package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
)

// withDemoMap runs the server with the demo company's data map, whose own categories
// (newsletter_subscriptions, forum_posts and others) follow the defaults.
func withDemoMap(t *testing.T) func(*api.Options) {
	t.Helper()
	m, err := demo.DataMap()
	if err != nil {
		t.Fatal(err)
	}
	return func(o *api.Options) { o.DataMaps = []*datamap.Map{m} }
}

const mapScopedSuppression = `{"type":"suppress","email":"erin@example.com","details":{"scope":{"categories":["newsletter_subscriptions","server_logs"]}}}`

func TestIntakeAcceptsASuppressionScopedToADataMapsCategory(t *testing.T) {
	h := newHarness(t, false, withDemoMap(t))
	a := h.do(http.MethodPost, "/api/v1/requests", "", mapScopedSuppression, "")
	if a.code != http.StatusAccepted || len(h.engine.started) != 1 {
		t.Fatalf("intake = %d %s with %d workflows started, want 202 and 1", a.code, a.body, len(h.engine.started))
	}
	id := strings.TrimPrefix(h.engine.started[0].ID, "dsr-")
	row, err := h.requests.GetRequest(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"categories":["newsletter_subscriptions","server_logs"]`; !strings.Contains(row.Details, want) {
		t.Errorf("stored details = %s, want the scope %s", row.Details, want)
	}
}

// Without a data map that defines it, the same category is unknown: the map is what
// makes it acceptable.
func TestIntakeWithoutADataMapKnowsOnlyTheDefaultCategories(t *testing.T) {
	h := newHarness(t, false)
	a := h.do(http.MethodPost, "/api/v1/requests", "", mapScopedSuppression, "")
	if a.code != http.StatusUnprocessableEntity || a.errorBody(t).Fields["details.scope.categories[0]"] != "unknown category" {
		t.Errorf("intake = %d %s, want 422 naming details.scope.categories[0]", a.code, a.body)
	}
}

func TestIntakeRefusesAnUnknownCategoryNamingTheFieldAndTheKnownOnes(t *testing.T) {
	h := newHarness(t, false, withDemoMap(t))
	body := `{"type":"suppress","email":"jane.doe@example.com","details":{"scope":{"categories":["forum_posts","shoe_size"]}}}`
	a := h.do(http.MethodPost, "/api/v1/requests", "", body, "")
	if a.code != http.StatusUnprocessableEntity {
		t.Fatalf("intake = %d %s, want 422", a.code, a.body)
	}
	fields := a.errorBody(t).Fields
	if fields["details.scope.categories[1]"] != "unknown category" || len(fields) != 2 {
		t.Errorf("fields = %v, want details.scope.categories[1] unknown, and the list", fields)
	}
	if list := fields["details.scope.categories"]; !strings.Contains(list, "server_logs") || !strings.Contains(list, "newsletter_subscriptions") {
		t.Errorf("details.scope.categories = %q, want the defaults and the map's own", list)
	}
	for _, secret := range []string{"jane.doe", "shoe_size"} {
		if strings.Contains(a.body, secret) {
			t.Errorf("error answer %s repeats %q", a.body, secret)
		}
	}
	if len(h.engine.started) != 0 {
		t.Error("an unknown category started a workflow")
	}
}

func TestRequestFormOffersTheDataMapsCategoriesByTheirLabels(t *testing.T) {
	h := newHarness(t, false, withDemoMap(t))
	for lang, want := range map[string][]string{
		"en": {`value="newsletter_subscriptions"`, `<label for="category-newsletter_subscriptions">Newsletter subscriptions</label>`,
			`<label for="category-server_logs">Visits to our web sites</label>`},
		"nb": {`<label for="category-newsletter_subscriptions">Nyhetsbrev</label>`, `<label for="category-forum_posts">Foruminnlegg</label>`},
	} {
		a := h.send(http.MethodGet, "/", "", "", http.Header{"Accept-Language": {lang}})
		for _, w := range want {
			if !strings.Contains(a.body, w) {
				t.Errorf("form in %s = %d, lacks %s", lang, a.code, w)
			}
		}
	}
}

func TestRequestFormOpensASuppressionOfADataMapsCategory(t *testing.T) {
	h := newHarness(t, false, withDemoMap(t))
	form := url.Values{"type": {"suppress"}, "email": {"erin@example.com"}, "scope": {"categories"},
		"category": {"newsletter_subscriptions", "forum_posts"}, "idempotency_key": {"k1"}}
	a := h.send(http.MethodPost, "/", form.Encode(), "", formHeaders)
	if a.code != http.StatusSeeOther || len(h.engine.started) != 1 {
		t.Fatalf("form = %d, %d workflows started; want 303 and 1", a.code, len(h.engine.started))
	}
	row, err := h.requests.GetRequest(context.Background(), strings.TrimPrefix(h.engine.started[0].ID, "dsr-"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `"categories":["newsletter_subscriptions","forum_posts"]`; !strings.Contains(row.Details, want) {
		t.Errorf("stored details = %s, want the scope %s", row.Details, want)
	}
}

func TestRequestFormRefusesAnUnknownCategoryBesideTheScope(t *testing.T) {
	h := newHarness(t, false, withDemoMap(t))
	form := url.Values{"type": {"suppress"}, "email": {"erin@example.com"}, "scope": {"categories"},
		"category": {"newsletter_subscriptions", "shoe_size"}, "idempotency_key": {"k2"}}
	a := h.send(http.MethodPost, "/", form.Encode(), "", formHeaders)
	if a.code != http.StatusUnprocessableEntity || !strings.Contains(a.body, `id="scope-error"`) {
		t.Errorf("form with an unknown category = %d, want 422 with the error beside the scope", a.code)
	}
	if !strings.Contains(a.body, `id="category-newsletter_subscriptions" value="newsletter_subscriptions" checked`) {
		t.Error("the refused form lost the category that was ticked")
	}
	if strings.Contains(a.body, "shoe_size") {
		t.Error("the refused form repeats the unknown category")
	}
	if len(h.engine.started) != 0 {
		t.Error("an unknown category started a workflow")
	}
}

// A person ticks one of the map's categories by its label in a real browser; the form,
// with every category of the demo map, fits a phone and a laptop and passes axe.
func TestBrowserFormSuppressesADataMapsCategory(t *testing.T) {
	h := newHarness(t, false, withDemoMap(t))
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	ctx := newBrowser(t, false)
	browse(t, ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.Click(chromedp.CSS("#type-suppress")),
		chromedp.Click(chromedp.CSS("#scope-categories")),
		chromedp.Click(chromedp.CSS(`label[for="category-newsletter_subscriptions"]`)),
		chromedp.SendKeys(chromedp.CSS("#email"), "erin@example.com"),
	)
	checkPage(t, ctx, "request-form-map-categories")
	browse(t, ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="code"]`)),
	)
	if len(h.engine.started) != 1 {
		t.Fatalf("%d workflows started, want 1", len(h.engine.started))
	}
	row, err := h.requests.GetRequest(context.Background(), strings.TrimPrefix(h.engine.started[0].ID, "dsr-"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `"categories":["newsletter_subscriptions"]`; !strings.Contains(row.Details, want) {
		t.Errorf("stored details = %s, want the scope %s", row.Details, want)
	}
}
