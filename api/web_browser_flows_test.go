package api_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
)

// statusLinkIn is the status page link of a request in its acknowledgement mail.
func (s *stack) statusLinkIn(to, id string) string {
	s.t.Helper()
	return s.linkInMail("the acknowledgement mail to "+to, to, `http://x/requests/`+regexp.QuoteMeta(id)+`\?k=[A-Za-z0-9_-]+`)
}

// linkInMail waits for a mail to to that holds a link matching pattern (on the dev
// mailbox's base http://x) and returns it on the stack's own address.
func (s *stack) linkInMail(what, to, pattern string) string {
	s.t.Helper()
	link := regexp.MustCompile(pattern)
	var found string
	s.eventually(what, func() (bool, string) {
		var msgs []api.DevMail
		s.must(http.StatusOK, http.MethodGet, "/api/v1/dev/mail?to="+url.QueryEscape(to), "", "", &msgs)
		for _, m := range msgs {
			if l := link.FindString(m.Text); l != "" {
				found = strings.Replace(l, "http://x", s.base, 1)
				return true, ""
			}
		}
		return false, "no such mail yet"
	})
	return found
}

func TestBrowserReviewAuditAndStaffRequest(t *testing.T) {
	s := startStack(t)

	t.Run("a person asks for a review through the form, an analyst verifies them, and the report downloads", func(t *testing.T) {
		s.t = t
		person := newBrowser(t, true)
		browse(t, person,
			chromedp.Navigate(s.base+"/"),
			chromedp.WaitVisible(chromedp.CSS("#type-review")),
			chromedp.Click(chromedp.CSS("#type-review")),
			chromedp.SendKeys(chromedp.CSS("#email"), "rhea@example.com"),
			chromedp.Click(chromedp.CSS("#submit")),
			chromedp.WaitVisible(chromedp.CSS("#code")),
		)
		analyst := s.token("vera", auth.RoleAnalyst)
		id := s.requestAwaitingCode(person, analyst)
		enterCode(t, person, s.code("rhea@example.com"), "#status")
		s.awaitStaffStatus(id, analyst, domain.StatusAwaitingIdentityVerification)

		staff := newBrowser(t, false)
		signInBrowser(t, staff, s.base, analyst, "#queue")
		browse(t, staff,
			chromedp.Navigate(s.base+"/admin/requests/"+id),
			chromedp.WaitVisible(chromedp.CSS("#verify-identity-form")),
			chromedp.SendKeys(chromedp.CSS("#verify-identity-reason"), "passport seen on a video call"),
			chromedp.Click(chromedp.CSS("#verify-identity-submit")),
			chromedp.WaitVisible(chromedp.CSS("#flash")),
		)
		awaitPage(t, s, person, "#status", domain.StatusCompleted)
		screenshot(t, person, "status-review-completed")
		download := browserValue(t, person, chromedp.Evaluate[string](
			`fetch(document.querySelector("#report").href).then(r => r.status + " " + r.headers.get("content-disposition"))`, chromedp.EvalAwaitPromise))
		if !strings.HasPrefix(download, "200 attachment") || !strings.Contains(download, id) {
			t.Errorf("report download = %q, want 200 as an attachment named after the request", download)
		}
		// Beside the download, the page links the report to read in the browser.
		inline := browserValue(t, person, chromedp.Evaluate[string](
			`fetch(document.querySelector("#report-html").href).then(r => r.status + " " + r.headers.get("content-type") + " " + r.headers.get("content-disposition"))`, chromedp.EvalAwaitPromise))
		if inline != "200 text/html; charset=UTF-8 null" {
			t.Errorf("HTML report = %q, want 200 text/html shown in the browser, not downloaded", inline)
		}
		browse(t, person, chromedp.Click(chromedp.CSS("#report-html")), chromedp.WaitVisible(chromedp.CSS("#held-elsewhere")))
		if loc := browserValue(t, person, chromedp.Location()); loc != s.base+"/requests/"+id+"/report?format=html" {
			t.Errorf("the HTML report link led to %s", loc)
		}
		if page := browserValue(t, person, chromedp.Text(chromedp.CSS("main"))); !strings.Contains(page, "Your privacy report") || !strings.Contains(page, id) {
			t.Errorf("the HTML report page reads:\n%s", page)
		}
		screenshot(t, person, "report-html")

		// The mailed link opens the status page in a browser that never saw the form, and
		// leaves no key in the address bar.
		other := newBrowser(t, true)
		browse(t, other, chromedp.Navigate(s.statusLinkIn("rhea@example.com", id)), chromedp.WaitVisible(chromedp.CSS("#status")))
		if loc := browserValue(t, other, chromedp.Location()); loc != s.base+"/requests/"+id {
			t.Errorf("after the mailed link the browser is at %s, want the address without the key", loc)
		}

		t.Run("an auditor reads its history and downloads the evidence bundle", func(t *testing.T) {
			s.t = t
			auditor := newBrowser(t, false)
			signInBrowser(t, auditor, s.base, s.token("ann", auth.RoleAuditor), "#audit-search")
			browse(t, auditor,
				chromedp.SendKeys(chromedp.CSS("#audit-request"), id),
				chromedp.Click(chromedp.CSS("#audit-submit")),
				chromedp.WaitVisible(chromedp.CSS("#history")),
			)
			screenshot(t, auditor, "audit")
			history := browserValue(t, auditor, chromedp.Text(chromedp.CSS("#history")))
			for _, want := range []string{"Workflow execution started", "Identity verified by staff", "audit log"} {
				if !strings.Contains(history, want) {
					t.Errorf("history lacks %q:\n%s", want, history)
				}
			}
			bundle := browserValue(t, auditor, chromedp.Evaluate[string](
				`fetch(document.querySelector("#evidence-link").href).then(r => r.status + " " + r.headers.get("content-type"))`, chromedp.EvalAwaitPromise))
			if bundle != "200 application/zip" {
				t.Errorf("evidence download = %q, want 200 application/zip", bundle)
			}
			if !regexp.MustCompile(`\d\d:\d\d:\d\d UTC`).MatchString(history) {
				t.Errorf("history lacks times to the second:\n%s", history)
			}

			// A search of the log: the form is filled from the URL.
			search := "/audit?actor=requester&from=" + time.Now().UTC().Format(time.DateOnly)
			browse(t, auditor, chromedp.Navigate(s.base+search), chromedp.WaitVisible(chromedp.CSS("#audit-found")))
			found := browserValue(t, auditor, chromedp.Text(chromedp.CSS("#audit-found")))
			if !strings.Contains(found, id) || !strings.Contains(found, "requester") {
				t.Errorf("search by the requester lacks request %s:\n%s", id, found)
			}
			if actor := browserValue(t, auditor, chromedp.Value(chromedp.CSS("#audit-actor"))); actor != "requester" {
				t.Errorf("actor field = %q, want the URL's", actor)
			}
			checkPage(t, auditor, "audit-search-found")
			browse(t, auditor, chromedp.Navigate(s.base+"/audit?request="+id), chromedp.WaitVisible(chromedp.CSS("#history")))
			checkPage(t, auditor, "audit-history-staff-verified")
		})
	})

	t.Run("a staff request needs a second staff member's approval", func(t *testing.T) {
		s.t = t
		carol := s.token("carol", auth.RoleAnalyst)
		opener := newBrowser(t, false)
		signInBrowser(t, opener, s.base, carol, "#queue")
		browse(t, opener,
			chromedp.Navigate(s.base+"/admin/staff-request"),
			chromedp.WaitVisible(chromedp.CSS("#sr-email")),
			chromedp.SendKeys(chromedp.CSS("#sr-email"), "kid@example.com"),
			chromedp.SendKeys(chromedp.CSS("#sr-reason"), "Mother's letter; her ID was checked"),
			chromedp.Click(chromedp.CSS("#staff-request-submit")),
			chromedp.WaitVisible(chromedp.CSS("#flash")),
		)
		screenshot(t, opener, "staff-request")
		loc, err := url.Parse(browserValue(t, opener, chromedp.Location()))
		if err != nil {
			t.Fatal(err)
		}
		id := strings.TrimPrefix(loc.Path, "/admin/requests/")
		s.awaitStaffStatus(id, carol, domain.StatusPendingReview)
		// The workflow refuses the opener's approval, so the opener's page does not offer it.
		browse(t, opener,
			chromedp.Navigate(s.base+"/admin/requests/"+id),
			chromedp.WaitVisible(chromedp.CSS("#approve-by-another")),
		)
		if n := browserValue(t, opener, chromedp.Evaluate[int](`document.querySelectorAll("#approve-form").length`)); n != 0 {
			t.Error("the opener's page offers to approve the request")
		}
		screenshot(t, opener, "admin-self-approval-refused")
		second := newBrowser(t, false)
		signInBrowser(t, second, s.base, s.token("dana", auth.RoleAdmin), "#queue")
		browse(t, second,
			chromedp.Navigate(s.base+"/admin/requests/"+id),
			chromedp.WaitVisible(chromedp.CSS("#approve-form")),
			chromedp.Click(chromedp.CSS("#approve-submit")),
			chromedp.WaitVisible(chromedp.CSS("#flash")),
		)
		if view := s.awaitStaffStatus(id, carol, domain.StatusCompleted); view.State.ApprovedBy != "dana" {
			t.Errorf("approved by %q, want dana", view.State.ApprovedBy)
		}
		browse(t, second, chromedp.Navigate(s.base+"/admin/metrics"), chromedp.WaitVisible(chromedp.CSS("#metrics")))
		screenshot(t, second, "admin-metrics")
		browse(t, second, chromedp.Navigate(s.base+"/admin/tasks"), chromedp.WaitVisible(chromedp.CSS("h1")))
		screenshot(t, second, "admin-tasks")
	})
}
