package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
)

var formHeaders = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}

func TestPagesSendAStrictContentSecurityPolicy(t *testing.T) {
	h := newHarness(t, false)
	for _, path := range []string{"/", "/admin", "/admin/requests", "/static/style.css"} {
		a := h.do(http.MethodGet, path, "", "", "")
		csp := a.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s CSP = %q", path, csp)
		}
		if a.header.Get("X-Content-Type-Options") != "nosniff" || a.header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s headers = %v", path, a.header)
		}
	}
}

// HEAD on a page answers as GET does, with the same status and headers and no body.
func TestPagesAnswerHEADAsGETWithoutABody(t *testing.T) {
	h := newHarness(t, false)
	id := h.seedWithToken(domain.StatusCompleted, "tok")
	session := h.signIn(h.token("carol", auth.RoleAnalyst))
	cookie := func(v string) http.Header { return http.Header{"Cookie": {v}} }
	for _, c := range []struct {
		path    string
		headers http.Header
		want    int
	}{
		{"/", nil, http.StatusOK},
		{"/admin", nil, http.StatusOK},
		{"/static/style.css", nil, http.StatusOK},
		{"/requests/" + id, cookie("dsr_status=tok"), http.StatusOK},
		{"/requests/" + id, nil, http.StatusUnauthorized},
		{"/admin/requests", cookie(session.cookie.Name + "=" + session.cookie.Value), http.StatusOK},
	} {
		get := h.send(http.MethodGet, c.path, "", "", c.headers)
		head := h.send(http.MethodHead, c.path, "", "", c.headers)
		if get.code != c.want || head.code != get.code {
			t.Errorf("%s: GET %d, HEAD %d; want %d for both", c.path, get.code, head.code, c.want)
			continue
		}
		if head.body != "" {
			t.Errorf("HEAD %s has a body of %d bytes", c.path, len(head.body))
		}
		if !reflect.DeepEqual(head.header, get.header) {
			t.Errorf("HEAD %s headers %v, GET's %v", c.path, head.header, get.header)
		}
		if n := get.header.Get("Content-Length"); n != strconv.Itoa(len(get.body)) {
			t.Errorf("GET %s Content-Length %q, body %d bytes", c.path, n, len(get.body))
		}
	}

	// Through net/http, which sends a HEAD answer's headers itself.
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	lengths := map[string]int64{}
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodGet} {
		req, _ := http.NewRequest(method, srv.URL+"/", nil)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || (method == http.MethodHead && len(body) != 0) {
			t.Errorf("%s / over HTTP = %d with %d bytes", method, res.StatusCode, len(body))
		}
		lengths[method] = res.ContentLength
	}
	if lengths[http.MethodHead] != lengths[http.MethodGet] || lengths[http.MethodGet] <= 0 {
		t.Errorf("Content-Length over HTTP: %v, want GET's for HEAD", lengths)
	}
}

func TestRequestFormSaysItHonoursGPC(t *testing.T) {
	h := newHarness(t, false)
	if a := h.do(http.MethodGet, "/", "", "", ""); strings.Contains(a.body, "gpc-notice") {
		t.Error("the form mentions a GPC signal the browser did not send")
	}
	a := h.send(http.MethodGet, "/", "", "", http.Header{"Sec-Gpc": {"1"}})
	if a.code != http.StatusOK || !strings.Contains(a.body, `id="gpc-notice"`) {
		t.Errorf("form with Sec-GPC: 1 = %d, want the GPC notice", a.code)
	}
}

func TestRequestFormShowsErrorsBesideTheirFieldsAndKeepsTheInput(t *testing.T) {
	h := newHarness(t, false)
	form := url.Values{
		"type": {"correct"}, "email": {"not-an-address"}, "jurisdiction": {"gdpr"},
		"change_field": {"", "name", ""}, "change_value": {"", "<b>Bob</b>", ""},
		"idempotency_key": {"k1"},
	}
	a := h.send(http.MethodPost, "/", form.Encode(), "", formHeaders)
	if a.code != http.StatusUnprocessableEntity {
		t.Fatalf("invalid form = %d, want 422", a.code)
	}
	for _, want := range []string{
		`id="email-error"`, `value="not-an-address"`, `value="&lt;b&gt;Bob&lt;/b&gt;"`,
		`<option value="name" selected>`, `id="type-correct" value="correct" checked`,
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("form answer lacks %s", want)
		}
	}
	if strings.Contains(a.body, "<b>Bob") {
		t.Error("the form echoes user text unescaped")
	}
	if len(h.engine.started) != 0 {
		t.Error("an invalid form started a workflow")
	}

	empty := url.Values{"type": {"update"}, "email": {"x@example.com"}, "change_field": {"name"}, "change_value": {""}, "idempotency_key": {"k2"}}
	a = h.send(http.MethodPost, "/", empty.Encode(), "", formHeaders)
	if !strings.Contains(a.body, `id="change-value-0-error"`) {
		t.Errorf("a change without a value = %d, want its error beside the value", a.code)
	}
}

// The web form gets the same refusal as the API, beside the row it belongs to.
func TestRequestFormRefusesACardNumberBesideItsRow(t *testing.T) {
	h := newHarness(t, false)
	form := url.Values{
		"type": {"update"}, "email": {"x@example.com"}, "jurisdiction": {"gdpr"},
		"change_field": {"name", "profile"}, "change_value": {"Sam", "4111-1111-1111-1111"},
		"idempotency_key": {"k4"},
	}
	a := h.send(http.MethodPost, "/", form.Encode(), "", formHeaders)
	if a.code != http.StatusUnprocessableEntity || !strings.Contains(a.body, `id="change-value-1-error"`) || !strings.Contains(a.body, "card number") {
		t.Errorf("form with a card number = %d, want 422 with the refusal beside the second value", a.code)
	}
	if len(h.engine.started) != 0 {
		t.Error("a card number started a workflow")
	}
}

func TestRequestFormOpensTheRequestAndKeepsItsTokenInACookie(t *testing.T) {
	h := newHarness(t, false)
	form := url.Values{"type": {"restrict"}, "email": {"rita@example.com"}, "limit": {"marketing_email"}, "idempotency_key": {"k3"}}
	a := h.send(http.MethodPost, "/", form.Encode(), "", formHeaders)
	if a.code != http.StatusSeeOther || len(h.engine.started) != 1 {
		t.Fatalf("intake by form = %d, %d workflows started; want 303 and 1", a.code, len(h.engine.started))
	}
	id := strings.TrimPrefix(h.engine.started[0].ID, "dsr-")
	if loc := a.header.Get("Location"); loc != "/requests/"+id+"/verify" {
		t.Errorf("redirect to %q", loc)
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == "dsr_status" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.Path != "/requests/"+id || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("status cookie = %+v, want HttpOnly, Lax, scoped to the request", cookie)
	}
	withCookie := http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}}
	if v := h.send(http.MethodGet, "/requests/"+id+"/verify", "", "", withCookie); v.code != http.StatusOK || !strings.Contains(v.body, `name="form_token"`) {
		t.Errorf("verification page = %d", v.code)
	}
	if v := h.do(http.MethodGet, "/requests/"+id, "", "", ""); v.code != http.StatusUnauthorized {
		t.Errorf("status page without the cookie = %d, want 401", v.code)
	}
	post := http.Header{"Cookie": withCookie["Cookie"], "Content-Type": formHeaders["Content-Type"]}
	if v := h.send(http.MethodPost, "/requests/"+id+"/verify", "code=123456", "", post); v.code != http.StatusForbidden {
		t.Errorf("code form without its form token = %d, want 403", v.code)
	}
}

func TestDashboardPagesNeedAStaffSignIn(t *testing.T) {
	h := newHarness(t, false)
	if a := h.do(http.MethodGet, "/admin/requests", "", "", ""); a.code != http.StatusUnauthorized || !strings.Contains(a.body, `id="sign-in"`) {
		t.Errorf("queue signed out = %d, want 401 with the sign-in form", a.code)
	}
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	req := h.open()
	a := d.send(http.MethodGet, "/admin/requests", "", "")
	if a.code != http.StatusOK || !strings.Contains(a.body, req.ID) || !strings.Contains(a.body, "format=csv") {
		t.Errorf("queue = %d, want the request and the CSV link", a.code)
	}
	page := d.send(http.MethodGet, "/admin/requests/"+req.ID, "", "")
	if page.code != http.StatusOK || !strings.Contains(page.body, `name="csrf_token" value="`+d.answer.CSRFToken+`"`) {
		t.Errorf("request page = %d, want forms with the session's CSRF token", page.code)
	}
	headers := http.Header{"Cookie": {d.cookie.Name + "=" + d.cookie.Value}, "Content-Type": formHeaders["Content-Type"]}
	if a := h.send(http.MethodPost, "/admin/requests/"+req.ID+"/approve", "reason=ok", "", headers); a.code != http.StatusForbidden {
		t.Errorf("approve without the CSRF token = %d, want 403", a.code)
	}
	if a := h.send(http.MethodPost, "/admin/requests/"+req.ID+"/approve", "reason=ok&csrf_token="+url.QueryEscape(d.answer.CSRFToken), "", headers); a.code != http.StatusSeeOther {
		t.Errorf("approve with the CSRF token = %d %s, want 303", a.code, a.body)
	}
	auditor := h.signIn(h.token("ann", auth.RoleAuditor))
	if a := auditor.send(http.MethodGet, "/admin/requests", "", ""); a.code != http.StatusForbidden {
		t.Errorf("queue as auditor = %d, want 403", a.code)
	}
}

func TestRequestPageLinksToTheTemporalWebUI(t *testing.T) {
	h := newHarness(t, false, func(o *api.Options) { o.TemporalUIURL = "http://127.0.0.1:8233/" })
	req := h.open()
	a := h.do(http.MethodGet, "/admin/requests/"+req.ID, "", "", h.token("carol", auth.RoleAnalyst))
	if want := `href="http://127.0.0.1:8233/namespaces/default/workflows/dsr-` + req.ID + `"`; !strings.Contains(a.body, want) {
		t.Errorf("request page = %d, lacks %s", a.code, want)
	}
}

// A completed request whose stores found and changed nothing says so on its status page, in
// the words the completion mail uses, instead of showing an empty outcome.
func TestStatusPageSaysWhenNothingWasFoundOrNeededChanging(t *testing.T) {
	h := newHarness(t, false)
	review := h.seedWithToken(domain.StatusCompleted, "tok-review")
	restrict := h.seedWithToken(domain.StatusCompleted, "tok-restrict")
	if err := h.db.Exec("UPDATE requests SET type = ? WHERE id = ?", domain.TypeRestrict, restrict).Error; err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, token, want string }{
		{review, "tok-review", "We found no personal information linked to this e-mail address."},
		{restrict, "tok-restrict", "Nothing needed changing"},
	} {
		page := h.send(http.MethodGet, "/requests/"+c.id, "", "", http.Header{"Cookie": {"dsr_status=" + c.token}})
		if page.code != http.StatusOK || !strings.Contains(page.body, `id="nothing"`) || !strings.Contains(page.body, c.want) {
			t.Errorf("status page of %s: %d, want %q in:\n%.600s", c.id, page.code, c.want, page.body)
		}
	}
}
