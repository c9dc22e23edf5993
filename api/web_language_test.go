package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/workflows"
)

// cookieFrom is the cookie an answer set, or nil.
func cookieFrom(a answer, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestRequestFormSpeaksTheBrowsersLanguage(t *testing.T) {
	h := newHarness(t, false)
	for accept, want := range map[string]string{
		"nb-NO,nb;q=0.9,en;q=0.5": `<html lang="nb">`,
		"no":                      "Spør om personopplysningene dine",
		"de-DE,de;q=0.9":          `<html lang="en">`,
		"":                        "Ask about your personal data",
	} {
		a := h.send(http.MethodGet, "/", "", "", http.Header{"Accept-Language": {accept}})
		if a.code != http.StatusOK || !strings.Contains(a.body, want) {
			t.Errorf("Accept-Language %q: %d, want the page with %s", accept, a.code, want)
		}
	}
}

func TestTheLanguageSwitchIsKeptInACookie(t *testing.T) {
	h := newHarness(t, false)
	english := http.Header{"Accept-Language": {"en"}}
	a := h.send(http.MethodGet, "/?lang=nb", "", "", english)
	if !strings.Contains(a.body, `<html lang="nb">`) || !strings.Contains(a.body, `href="/?lang=en"`) {
		t.Fatalf("?lang=nb = %d, want a Norwegian page that offers English", a.code)
	}
	c := cookieFrom(a, "dsr_lang")
	if c == nil || c.Value != "nb" || !c.HttpOnly || c.Path != "/" {
		t.Fatalf("language cookie = %+v, want nb, HttpOnly, for every page", c)
	}
	again := h.send(http.MethodGet, "/", "", "", http.Header{"Accept-Language": {"en"}, "Cookie": {"dsr_lang=nb"}})
	if !strings.Contains(again.body, "Send henvendelsen") {
		t.Error("the next page forgot the chosen language")
	}
	if x := h.send(http.MethodGet, "/?lang=xx", "", "", english); !strings.Contains(x.body, `<html lang="en">`) || cookieFrom(x, "dsr_lang") != nil {
		t.Error("an unknown language was taken")
	}
}

func TestTheFormsLanguageIsKeptOnTheRequestAndItsPages(t *testing.T) {
	h := newHarness(t, false)
	form := url.Values{"type": {"restrict"}, "email": {"rita@example.com"}, "limit": {"marketing_email"}, "idempotency_key": {"k-nb"}}
	headers := http.Header{"Content-Type": formHeaders["Content-Type"], "Cookie": {"dsr_lang=nb"}}
	a := h.send(http.MethodPost, "/", form.Encode(), "", headers)
	if a.code != http.StatusSeeOther {
		t.Fatalf("intake by form = %d", a.code)
	}
	id := strings.TrimPrefix(h.engine.started[0].ID, "dsr-")
	row, err := h.requests.GetRequest(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if row.Language != "nb" {
		t.Errorf("stored language = %q, want nb", row.Language)
	}
	// Another browser, which sent no language, opens the request's page in Norwegian.
	status := cookieFrom(a, "dsr_status")
	v := h.send(http.MethodGet, "/requests/"+id+"/verify", "", "", http.Header{"Cookie": {status.Name + "=" + status.Value}})
	if !strings.Contains(v.body, `<html lang="nb">`) || !strings.Contains(v.body, "Bekreft e-postadressen din") {
		t.Errorf("verification page = %d, want it in Norwegian", v.code)
	}
}

func TestTheWorkflowsRefusalIsSaidInThePagesLanguage(t *testing.T) {
	h := newHarness(t, false)
	form := url.Values{"type": {"restrict"}, "email": {"rita@example.com"}, "limit": {"marketing_email"}, "idempotency_key": {"k-refusal"}}
	a := h.send(http.MethodPost, "/", form.Encode(), "", http.Header{"Content-Type": formHeaders["Content-Type"], "Cookie": {"dsr_lang=nb"}})
	if a.code != http.StatusSeeOther {
		t.Fatalf("intake by form = %d", a.code)
	}
	id := strings.TrimPrefix(h.engine.started[0].ID, "dsr-")
	status := cookieFrom(a, "dsr_status")
	cookie := http.Header{"Cookie": {status.Name + "=" + status.Value}}
	page := h.send(http.MethodGet, "/requests/"+id+"/verify", "", "", cookie)
	token := regexp.MustCompile(`name="form_token" value="([^"]+)"`).FindStringSubmatch(page.body)
	if token == nil {
		t.Fatalf("verification page = %d without a form token", page.code)
	}
	const english = "the code is 6 to 8 digits"
	h.engine.updateErr = temporal.NewApplicationError(english, workflows.RefusalTypePrefix+workflows.RefusalCodeFormat)
	post := http.Header{"Cookie": cookie["Cookie"], "Content-Type": formHeaders["Content-Type"]}
	v := h.send(http.MethodPost, "/requests/"+id+"/verify", url.Values{"code": {"12"}, "form_token": {token[1]}}.Encode(), "", post)
	if v.code != http.StatusConflict || !strings.Contains(v.body, "Koden har 6 til 8 sifre") || strings.Contains(strings.ToLower(v.body), english) {
		t.Errorf("refused code = %d, want 409 with the refusal in Norwegian:\n%s", v.code, v.body)
	}
	// The API keeps the workflow's own words for programs.
	api := h.do(http.MethodPost, "/api/v1/requests/"+id+"/verify", "", `{"code":"12"}`, status.Value)
	if api.code != http.StatusConflict || !strings.Contains(api.body, english) || !strings.Contains(api.body, `"refused"`) {
		t.Errorf("API refusal = %d %s, want 409 refused with the workflow's message", api.code, api.body)
	}
}

func TestIntakeAPITakesALanguage(t *testing.T) {
	h := newHarness(t, false)
	for body, want := range map[string]string{
		`{"type":"restrict","email":"a@example.com","details":{"limits":["marketing_email"]},"language":"nb"}`: "nb",
		`{"type":"restrict","email":"b@example.com","details":{"limits":["marketing_email"]}}`:                 "en",
	} {
		a := h.do(http.MethodPost, "/api/v1/requests", "", body, "")
		var out api.IntakeAnswer
		if err := json.Unmarshal([]byte(a.body), &out); err != nil || a.code != http.StatusAccepted {
			t.Fatalf("intake = %d %s", a.code, a.body)
		}
		row, err := h.requests.GetRequest(context.Background(), out.ID)
		if err != nil {
			t.Fatal(err)
		}
		if row.Language != want {
			t.Errorf("%s: language = %q, want %q", body, row.Language, want)
		}
	}
	a := h.do(http.MethodPost, "/api/v1/requests", "", `{"type":"restrict","email":"c@example.com","details":{"limits":["marketing_email"]},"language":"xx"}`, "")
	if a.code != http.StatusUnprocessableEntity || a.errorBody(t).Fields["language"] == "" {
		t.Errorf("an unknown language = %d %s, want 422 naming the field", a.code, a.body)
	}
}

func TestStaffPagesStayInEnglish(t *testing.T) {
	h := newHarness(t, false)
	d := h.signIn(h.token("carol", auth.RoleAnalyst))
	req := h.open()
	a := d.send(http.MethodGet, "/admin/requests/"+req.ID, "", "")
	if a.code != http.StatusOK || !strings.Contains(a.body, `<html lang="en">`) || strings.Contains(a.body, `class="languages"`) {
		t.Errorf("staff page = %d, want English without the requester's language switch", a.code)
	}
}

func TestTheBrandIsOnEveryPublicPage(t *testing.T) {
	logo := filepath.Join(t.TempDir(), "logo.png")
	png := []byte("\x89PNG\r\n\x1a\nnot really")
	if err := os.WriteFile(logo, png, 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, false, func(o *api.Options) {
		o.Brand = api.Brand{Organization: "Eksempel AS", PrivacyPolicyURL: "https://eksempel.no/personvern", LogoFile: logo, AccentColor: "#AA3300"}
	})
	page := h.do(http.MethodGet, "/", "", "", "")
	for _, want := range []string{"Eksempel AS privacy requests", `src="/brand/logo"`, `href="https://eksempel.no/personvern"`, `href="/brand.css"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("form page lacks %s", want)
		}
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self';") || !strings.Contains(csp, "img-src 'self';") {
		t.Errorf("CSP = %q, want only the server's own styles and images", csp)
	}
	css := h.do(http.MethodGet, "/brand.css", "", "", "")
	if css.code != http.StatusOK || !strings.HasPrefix(css.header.Get("Content-Type"), "text/css") || !strings.Contains(css.body, "--accent: #aa3300") {
		t.Errorf("brand.css = %d %q %q", css.code, css.header.Get("Content-Type"), css.body)
	}
	img := h.do(http.MethodGet, "/brand/logo", "", "", "")
	if img.code != http.StatusOK || img.header.Get("Content-Type") != "image/png" || img.body != string(png) {
		t.Errorf("logo = %d %q", img.code, img.header.Get("Content-Type"))
	}
	missing := h.do(http.MethodGet, "/requests/00000000-0000-0000-0000-000000000000", "", "", "")
	if !strings.Contains(missing.body, "Eksempel AS") {
		t.Error("the page refusing a request lacks the brand")
	}
}

func TestWithoutALogoNoneIsServed(t *testing.T) {
	h := newHarness(t, false)
	if a := h.do(http.MethodGet, "/brand/logo", "", "", ""); a.code != http.StatusNotFound {
		t.Errorf("logo without one = %d, want 404", a.code)
	}
	if a := h.do(http.MethodGet, "/", "", "", ""); strings.Contains(a.body, "/brand/logo") {
		t.Error("the page shows a logo there is not")
	}
}
