package api_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dsr-project/dsr/internal/auth"
)

// A Virginia request denied by one analyst is appealed by the person from the status page
// the denial mail links to; the analyst who denied it is not offered the decision, a
// second one denies the appeal, and the person sees the outcome with whom to complain to.
func TestBrowserADenialIsAppealedAndDecidedByASecondStaffMember(t *testing.T) {
	s := startStack(t)
	carol, dave := s.token("carol", auth.RoleAnalyst), s.token("dave", auth.RoleAnalyst)
	req := s.deniedRequest("vic@example.com", carol)
	appealLink := s.linkInMail("the denial's appeal link", "vic@example.com", `http://x/requests/`+req.ID+`\?k=[A-Za-z0-9_-]+#appeal`)

	person := newBrowser(t, true)
	browse(t, person, chromedp.Navigate(appealLink), chromedp.WaitVisible(chromedp.CSS("#appeal-text-input")))
	checkPage(t, person, "status-denied-appealable")
	// A control character is refused with words the person understands, and the text stays.
	browse(t, person,
		chromedp.SetValue(chromedp.CSS("#appeal-text-input"), "My name is Vic Vale.\u0007"),
		chromedp.Click(chromedp.CSS("#appeal-submit")),
		chromedp.WaitVisible(chromedp.CSS("#appeal-error")),
	)
	if got := browserValue(t, person, chromedp.Text(chromedp.CSS("#appeal-error"))); !strings.Contains(got, "plain text") {
		t.Errorf("the refusal of a control character reads %q", got)
	}
	checkPage(t, person, "status-appeal-error")
	browse(t, person,
		chromedp.SetValue(chromedp.CSS("#appeal-text-input"), "My name is Vic Vale.\nMy passport says so."),
		chromedp.Click(chromedp.CSS("#appeal-submit")),
		chromedp.WaitVisible(chromedp.CSS("#appeal-status")),
	)
	if got := browserValue(t, person, chromedp.Text(chromedp.CSS("#appeal-status"))); !strings.Contains(got, "looking at your appeal") {
		t.Errorf("the submitted appeal's status reads %q", got)
	}
	checkPage(t, person, "status-appeal-open")

	refuser := newBrowser(t, false)
	signInBrowser(t, refuser, s.base, carol, "#queue")
	browse(t, refuser, chromedp.Navigate(s.base+"/admin/requests/"+req.ID), chromedp.WaitVisible(chromedp.CSS("#appeal-decide-by-another")))
	if n := browserValue(t, refuser, chromedp.Evaluate[int](`document.querySelectorAll("#appeal-decide-form").length`)); n != 0 {
		t.Error("the analyst who denied the request is offered the appeal's decision")
	}

	second := newBrowser(t, false)
	signInBrowser(t, second, s.base, dave, "#queue")
	browse(t, second, chromedp.Navigate(s.base+"/admin/appeals"), chromedp.WaitVisible(chromedp.CSS("#appeals")))
	checkPage(t, second, "staff-appeals")
	browse(t, second,
		chromedp.Click(chromedp.CSS(`#appeals a[href="/admin/requests/`+req.ID+`#appeal"]`)),
		chromedp.WaitVisible(chromedp.CSS("#appeal-decide-form")),
	)
	if got := browserValue(t, second, chromedp.Text(chromedp.CSS("#appeal-text"))); !strings.Contains(got, "passport says so") {
		t.Errorf("the staff page shows the appeal as %q", got)
	}
	checkPage(t, second, "staff-request-appeal")
	browse(t, second,
		chromedp.Click(chromedp.CSS("#appeal-deny")),
		chromedp.SendKeys(chromedp.CSS("#appeal-reason"), "The name on file matches the signed order we must keep."),
		chromedp.Click(chromedp.CSS("#appeal-decide-submit")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
	)
	if got := browserValue(t, second, chromedp.Text(chromedp.CSS("#appeal-decided-by"))); !strings.HasPrefix(got, "dave") {
		t.Errorf("decided by %q, want dave", got)
	}

	browse(t, person, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#appeal-status[data-status="denied"]`)))
	if got := browserValue(t, person, chromedp.Text(chromedp.CSS("#appeal-reason"))); !strings.Contains(got, "signed order") {
		t.Errorf("the person reads the reason as %q", got)
	}
	regulator := browserValue(t, person, chromedp.Text(chromedp.CSS("#appeal-regulator")))
	href := browserValue(t, person, chromedp.Evaluate[string](`document.querySelector("#regulator-link").href`))
	if !strings.Contains(regulator, "Attorney General of Virginia") || href != "https://www.oag.state.va.us/consumer-protection/" {
		t.Errorf("the regulator reads %q linking %q", regulator, href)
	}
	checkPage(t, person, "status-appeal-denied")
}
