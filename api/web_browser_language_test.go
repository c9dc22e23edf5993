package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/i18n"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/requests"
)

// mailWithSubject waits for the dev mailbox of to to hold a message whose subject starts
// with prefix.
func (s *stack) mailWithSubject(to, prefix string) api.DevMail {
	s.t.Helper()
	var found api.DevMail
	s.eventually("a mail to "+to+" titled "+prefix, func() (bool, string) {
		var msgs []api.DevMail
		s.must(http.StatusOK, http.MethodGet, "/api/v1/dev/mail?to="+url.QueryEscape(to), "", "", &msgs)
		var subjects []string
		for _, m := range msgs {
			if strings.HasPrefix(m.Subject, prefix) {
				found = m
				return true, ""
			}
			subjects = append(subjects, m.Subject)
		}
		return false, strings.Join(subjects, " | ")
	})
	return found
}

var verifyLinkInMail = regexp.MustCompile(`http://x/requests/[0-9a-f-]{36}/verify\?k=[A-Za-z0-9_-]+`)

func TestBrowserANorwegianRequesterGetsNorwegianPagesAndMail(t *testing.T) {
	// The demo company's SQL stores hold the requester, so the restriction changes something
	// for the mail and the report to name.
	demoMap, err := demo.Setup(context.Background(), "sqlite:"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stores, closeStores, err := sqlstore.OpenAll(context.Background(), demoMap, sqlstore.WithHashKey([]byte("norwegian-test-hash-key-32bytes!")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStores() })
	s := startStack(t, func(o *api.Options, a *activities.Activities) {
		o.Brand = api.Brand{Organization: "Eksempel AS", PrivacyPolicyURL: "https://eksempel.no/personvern", AccentColor: "#7a1f5c"}
		notices, err := mail.NewTemplates(i18n.Default(), mail.Brand{Organization: "Eksempel AS", PrivacyPolicyURL: "https://eksempel.no/personvern"}, "")
		if err != nil {
			t.Fatal(err)
		}
		a.Notices = notices
		o.DataMaps = []*datamap.Map{demoMap}
		a.Stores, a.OutcomeLabels = stores, requests.NewOutcomeLabels(o.DataMaps).Outcome
	})
	to := demo.Ada().Email
	ctx := newBrowser(t, false)
	browse(t, ctx, chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.CSS("#lang-nb")))
	browse(t, ctx, chromedp.Click(chromedp.CSS("#lang-nb")), chromedp.WaitVisible(chromedp.CSS(`html[lang="nb"] #type-restrict`)))
	checkPage(t, ctx, "nb-request-form")
	if title := browserValue(t, ctx, chromedp.Text(chromedp.CSS("h1"))); title != "Spør om personopplysningene dine" {
		t.Errorf("form heading = %q", title)
	}
	limitMarketingByForm(t, ctx, to)
	checkPage(t, ctx, "nb-verify")
	id := s.requestAwaitingCode(ctx, s.token("vera", auth.RoleAnalyst))

	codeMail := s.mailWithSubject(to, "Bekreftelseskoden din")
	code := codeInMail.FindString(codeMail.Text)
	if code == "" || !strings.Contains(codeMail.Text, "Koden gjelder i 30 minutter.") || !strings.Contains(codeMail.Text, "Personvernteamet i Eksempel AS") {
		t.Errorf("code mail is not in Norwegian, or lacks the code:\n%s", codeMail.Text)
	}
	if link := verifyLinkInMail.FindString(codeMail.Text); !strings.Contains(link, "/requests/"+id+"/verify?k=") {
		t.Errorf("code mail links to %q, want the page that takes the code", link)
	}

	enterCode(t, ctx, code, "#status")
	awaitPage(t, s, ctx, "#status", domain.StatusCompleted)
	checkPage(t, ctx, "nb-status-completed")
	page := browserValue(t, ctx, chromedp.Text(chromedp.CSS("main")))
	for _, want := range []string{"Henvendelsen din", "Ferdigbehandlet", "Du bekreftet e-postadressen din", "Vi ferdigbehandlet henvendelsen din", "Hva skjer nå"} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q:\n%s", want, page)
		}
	}
	if lang := browserValue(t, ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); lang != "nb" {
		t.Errorf("<html lang> = %q, want nb", lang)
	}

	ack := s.mailWithSubject(to, "Vi har mottatt personvernhenvendelsen din "+id)
	done := s.mailWithSubject(to, "Personvernhenvendelsen din "+id+" er ferdigbehandlet")
	for _, msg := range []api.DevMail{ack, done} {
		if !strings.Contains(msg.Text, "Med vennlig hilsen\nPersonvernteamet i Eksempel AS") || !strings.Contains(msg.Text, "https://eksempel.no/personvern") {
			t.Errorf("%q is not signed in Norwegian by the organisation:\n%s", msg.Subject, msg.Text)
		}
	}
	if !strings.Contains(done.Text, "begrense hvordan vi bruker personopplysningene dine") {
		t.Errorf("completion mail does not say what was asked, in Norwegian:\n%s", done.Text)
	}
	// What was changed reads as the report says it, not as the stores name it.
	if !strings.Contains(done.Text, "Dette endret vi:\n- Markedsføring på e-post er stoppet") || strings.Contains(done.Text, "marketing_email") {
		t.Errorf("completion mail does not name the change in plain Norwegian:\n%s", done.Text)
	}

	browse(t, ctx, chromedp.Click(chromedp.CSS("#report-html")), chromedp.WaitVisible(chromedp.CSS("#changed")))
	checkPage(t, ctx, "nb-report")
	report := browserValue(t, ctx, chromedp.Text(chromedp.CSS("main")))
	for _, want := range []string{"Personvernrapporten din", "Dette endret vi", "Markedsføring på e-post er stoppet", "fullført"} {
		if !strings.Contains(report, want) {
			t.Errorf("report page lacks %q:\n%s", want, report)
		}
	}
	if !norwegianDate.MatchString(report) {
		t.Errorf("report page has no date in Norwegian words:\n%s", report)
	}
}

const testLogo = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40"><rect width="120" height="40" rx="6" fill="#7a1f5c"/><text x="60" y="26" font-size="16" text-anchor="middle" fill="#fff" font-family="sans-serif">EKS</text></svg>`

// The branded pages a requester may meet, with a logo, in both languages, fit a phone and
// a desktop; the one waiting for identity answers says it is the requester's turn.
func TestBrowserBrandedPagesFitPhoneAndDesktop(t *testing.T) {
	logo := filepath.Join(t.TempDir(), "logo.svg")
	if err := os.WriteFile(logo, []byte(testLogo), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, false, func(o *api.Options) {
		o.Brand = api.Brand{Organization: "Eksempel AS", PrivacyPolicyURL: "https://eksempel.no/personvern", LogoFile: logo, AccentColor: "#7a1f5c"}
	})
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	form := url.Values{"type": {"review"}, "email": {"ola@example.com"}, "idempotency_key": {"k-brand"}, "jurisdiction": {"gdpr"}}
	a := h.send(http.MethodPost, "/", form.Encode(), "", formHeaders)
	id := strings.TrimPrefix(h.engine.started[0].ID, "dsr-")
	if err := h.db.Exec("UPDATE requests SET status = ?, identity_requirement = ?, identity_attempts_left = ? WHERE id = ?",
		domain.StatusAwaitingIdentityVerification, "data_points:2", 3, id).Error; err != nil {
		t.Fatal(err)
	}
	status := cookieFrom(a, "dsr_status")

	ctx := newBrowser(t, false)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	browse(t, ctx, chromedp.Navigate(srv.URL+"/?lang=en"), chromedp.WaitVisible(chromedp.CSS("img.logo")),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: status.Name, Value: status.Value, Domain: u.Hostname(), Path: "/requests/" + id})
			return err
		}))
	checkPage(t, ctx, "brand-form-en")
	logoWidth := browserValue(t, ctx, chromedp.Evaluate[int](`document.querySelector("img.logo").naturalWidth`))
	if logoWidth == 0 {
		t.Error("the logo did not load under the pages' policy")
	}
	browse(t, ctx, chromedp.Navigate(srv.URL+"/requests/"+id+"?lang=nb"), chromedp.WaitVisible(chromedp.CSS("#identity-h")))
	checkPage(t, ctx, "brand-status-identity-nb")
	who := browserValue(t, ctx, chromedp.Text(chromedp.CSS("#next-who")))
	if who != "Venter på deg" {
		t.Errorf("who acts = %q, want the requester", who)
	}
	browse(t, ctx, chromedp.Navigate(srv.URL+"/static/nothing.css"), chromedp.WaitVisible(chromedp.CSS("h1")))
	checkPage(t, ctx, "brand-error-nb")
	browse(t, ctx, chromedp.Navigate(srv.URL+"/requests/00000000-0000-0000-0000-000000000000?lang=en"), chromedp.WaitVisible(chromedp.CSS("h1")))
	checkPage(t, ctx, "brand-no-access-en")
}
