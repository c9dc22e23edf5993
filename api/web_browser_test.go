package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
)

const chromiumPath = "/usr/bin/chromium"

var (
	chromiumOnce sync.Once
	chromiumErr  error
)

// ensureChromium installs Debian's chromium when it is missing. The browser tests never
// skip: without a browser they fail, saying why.
func ensureChromium(t *testing.T) {
	t.Helper()
	chromiumOnce.Do(func() {
		if _, err := os.Stat(chromiumPath); err == nil {
			return
		}
		out, err := exec.Command("sh", "-c", "apt-get update && apt-get install -y chromium").CombinedOutput()
		if err != nil {
			chromiumErr = fmt.Errorf("install chromium: %w\n%s", err, out)
		}
	})
	if chromiumErr != nil {
		t.Fatal(chromiumErr)
	}
}

// newBrowser starts a headless chromium with a fresh profile, the size of a phone when
// phone is set; it is stopped when the test ends.
func newBrowser(t *testing.T, phone bool) context.Context {
	t.Helper()
	ensureChromium(t)
	profile, err := os.MkdirTemp("", "dsr-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(profile); err != nil {
			t.Logf("remove browser profile: %v", err)
		}
	})
	width, height := 1280, 900
	if phone {
		width, height = 390, 844
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath), chromedp.UserDataDir(profile), chromedp.WindowSize(width, height),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
	)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	// The first run starts the browser, which lives as long as ctx: it gets no timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// browserStep bounds each run of actions, so that a page that never comes fails the test.
const browserStep = time.Minute

// browse runs the steps in the browser, failing the test at the first that fails.
func browse(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, browserStep)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%v; the page:\n%s", err, pageText(ctx))
	}
}

// pageText is where the browser is and what it shows, for failure messages.
func pageText(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
	if err != nil {
		return err.Error()
	}
	return text
}

// browserValue runs one action that reads a value.
func browserValue[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, browserStep)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// screenshot saves the page under screenshots.out/ (git-ignored by *.out), or
// DSR_SCREENSHOTS when set, for people to look at after a run.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("DSR_SCREENSHOTS")
	if dir == "" {
		dir = "screenshots.out"
	}
	img := browserValue(t, ctx, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), img, 0o644); err != nil {
		t.Fatal(err)
	}
}

// awaitPage reloads the page until the element's data-status is want.
func awaitPage(t *testing.T, s *stack, ctx context.Context, sel chromedp.CSS, want domain.Status) {
	t.Helper()
	s.eventually("the page to show "+string(want), func() (bool, string) {
		step, cancel := context.WithTimeout(ctx, browserStep)
		defer cancel()
		if err := chromedp.Do(step, chromedp.Reload(), chromedp.WaitVisible(sel)); err != nil {
			return false, err.Error()
		}
		got, err := chromedp.Run(step, chromedp.AttributeValue(sel, "data-status"))
		if err != nil {
			return false, err.Error()
		}
		return got.Value == string(want), got.Value
	})
}

var verifyPath = regexp.MustCompile(`/requests/([0-9a-f-]{36})/verify$`)

// signInBrowser signs the browser in to the dashboard of the server at base and waits for
// sel on the page it lands on.
func signInBrowser(t *testing.T, ctx context.Context, base, token string, sel chromedp.CSS) {
	t.Helper()
	browse(t, ctx,
		chromedp.Navigate(base+"/admin"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS("#sign-in-submit")),
		chromedp.WaitVisible(sel),
	)
}

// signInRefused signs in with a token that is none and waits for the refusal.
func signInRefused(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	signInBrowser(t, ctx, base, "not-a-token", "#token-error")
}

// sendBadAddress sends the request form shown as a suppression from an address that is
// none and waits for the error beside the field.
func sendBadAddress(t *testing.T, ctx context.Context) {
	t.Helper()
	browse(t, ctx,
		chromedp.Click(chromedp.CSS("#type-suppress")),
		chromedp.SendKeys(chromedp.CSS("#email"), "not an address"),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#email-error")),
	)
}

// limitMarketingByForm asks, through the request form shown, to stop marketing e-mail to
// the address, and waits for the page that takes the code.
func limitMarketingByForm(t *testing.T, ctx context.Context, email string) {
	t.Helper()
	browse(t, ctx,
		chromedp.Click(chromedp.CSS("#type-restrict")),
		chromedp.WaitVisible(chromedp.CSS("#limit-marketing_email")),
		chromedp.Click(chromedp.CSS("#limit-marketing_email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	)
}

// enterCode sends the code through the verification page shown and waits for sel on the
// page that answers.
func enterCode(t *testing.T, ctx context.Context, code string, sel chromedp.CSS) {
	t.Helper()
	browse(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS("#verify-submit")),
		chromedp.WaitVisible(sel),
	)
}

// requestAwaitingCode is the request whose verification page the browser shows, once its
// workflow holds the code that page asks for; staffToken reads the workflow's state.
func (s *stack) requestAwaitingCode(ctx context.Context, staffToken string) string {
	s.t.Helper()
	location := browserValue(s.t, ctx, chromedp.Location())
	m := verifyPath.FindStringSubmatch(location)
	if m == nil {
		s.t.Fatalf("the browser is at %s, want the verification page", location)
	}
	id := m[1]
	s.eventually("the workflow to hold the code", func() (bool, string) {
		var view api.StaffView
		s.must(http.StatusOK, http.MethodGet, "/api/v1/admin/requests/"+id, "", staffToken, &view)
		return view.State != nil && view.State.CodeAttemptsLeft > 0, string(view.Request.Status)
	})
	return id
}

func TestBrowser(t *testing.T) {
	s := startStack(t, func(o *api.Options, _ *activities.Activities) { o.TemporalUIURL = "http://127.0.0.1:8233" })

	t.Run("a person limits marketing e-mail through the form and sees it completed", func(t *testing.T) {
		s.t = t
		ctx := newBrowser(t, true)
		browse(t, ctx, chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.CSS("#type-restrict")))
		screenshot(t, ctx, "request-form")
		limitMarketingByForm(t, ctx, "rosa@example.com")
		screenshot(t, ctx, "verify")
		analyst := s.token("vera", auth.RoleAnalyst)
		s.requestAwaitingCode(ctx, analyst)
		enterCode(t, ctx, s.code("rosa@example.com"), "#status")
		awaitPage(t, s, ctx, "#status", domain.StatusCompleted)
		screenshot(t, ctx, "status-completed")
		timeline := browserValue(t, ctx, chromedp.Text(chromedp.CSS("#timeline")))
		if !strings.Contains(timeline, "You confirmed your e-mail address") || !strings.Contains(timeline, "We completed your request") {
			t.Errorf("timeline = %q", timeline)
		}
		status := browserValue(t, ctx, chromedp.Evaluate[int](`fetch(document.querySelector("#report").href).then(r => r.status)`, chromedp.EvalAwaitPromise))
		if status != http.StatusOK {
			t.Errorf("report download = %d, want 200", status)
		}
		html := browserValue(t, ctx, chromedp.Evaluate[string](`fetch(document.querySelector("#report-html").href).then(r => r.status + " " + r.headers.get("content-type"))`, chromedp.EvalAwaitPromise))
		if html != "200 text/html; charset=UTF-8" {
			t.Errorf("HTML report link = %q, want 200 text/html", html)
		}
	})

	t.Run("an analyst signs in and approves a correction, which completes", func(t *testing.T) {
		s.t = t
		req := s.open(`{"type":"correct","email":"bob@example.com","jurisdiction":"gdpr","details":{"changes":[{"field":"name","value":"Bob Brown"}]}}`)
		s.verify(req, "bob@example.com")
		s.awaitRequesterStatus(req, domain.StatusPendingReview)
		analyst := s.token("carol", auth.RoleAnalyst)
		s.awaitStaffStatus(req.ID, analyst, domain.StatusPendingReview)

		ctx := newBrowser(t, false)
		signInRefused(t, ctx, s.base)
		screenshot(t, ctx, "admin-sign-in")
		signInBrowser(t, ctx, s.base, analyst, "#queue")
		screenshot(t, ctx, "admin-queue")
		browse(t, ctx,
			chromedp.Click(chromedp.CSS(`a[href="/admin/requests/`+req.ID+`"]`)),
			chromedp.WaitVisible(chromedp.CSS("#approve-form")),
		)
		screenshot(t, ctx, "admin-request")
		link := browserValue(t, ctx, chromedp.AttributeValue(chromedp.CSS("#temporal-link"), "href"))
		if !strings.HasSuffix(link.Value, "/namespaces/default/workflows/dsr-"+req.ID) {
			t.Errorf("Temporal link = %q", link.Value)
		}
		browse(t, ctx,
			chromedp.SendKeys(chromedp.CSS("#approve-reason"), "matches our records"),
			chromedp.Click(chromedp.CSS("#approve-submit")),
			chromedp.WaitVisible(chromedp.CSS("#flash")),
		)
		view := s.awaitStaffStatus(req.ID, analyst, domain.StatusCompleted)
		if view.State.ApprovedBy != "carol" {
			t.Errorf("approved by %q, want carol", view.State.ApprovedBy)
		}
		awaitPage(t, s, ctx, "#status", domain.StatusCompleted)
	})
}

func TestBrowserFormShowsErrorsBesideTheirFields(t *testing.T) {
	h := newHarness(t, false)
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	ctx := newBrowser(t, true)
	browse(t, ctx, chromedp.Navigate(srv.URL+"/"))
	sendBadAddress(t, ctx)
	screenshot(t, ctx, "request-form-errors")
	emailError := browserValue(t, ctx, chromedp.Text(chromedp.CSS("#email-error")))
	kept := browserValue(t, ctx, chromedp.Value(chromedp.CSS("#email")))
	scopeError := browserValue(t, ctx, chromedp.Text(chromedp.CSS("#scope-error")))
	if !strings.Contains(emailError, "not a valid e-mail address") || kept != "not an address" || scopeError == "" {
		t.Errorf("email error %q, kept %q, scope error %q", emailError, kept, scopeError)
	}
}
