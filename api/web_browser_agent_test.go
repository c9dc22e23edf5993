package api_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
)

var requestIDInText = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// fillAgentForm fills the agent form shown, asking to stop marketing e-mail to person, with
// the permission file at path (none when empty).
func fillAgentForm(t *testing.T, tab context.Context, person, path string) {
	t.Helper()
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(chromedp.CSS("#agent-name")),
		chromedp.SendKeys(chromedp.CSS("#agent-name"), agentName),
		chromedp.SendKeys(chromedp.CSS("#agent-contact"), agentContact),
		chromedp.Click(chromedp.CSS("#type-restrict")),
		chromedp.WaitVisible(chromedp.CSS("#limit-marketing_email")),
		chromedp.Click(chromedp.CSS("#limit-marketing_email")),
		chromedp.SendKeys(chromedp.CSS("#email"), person),
	}
	if path != "" {
		steps = append(steps, chromedp.SetUploadFiles(chromedp.CSS("#permission"), []string{path}))
	}
	browse(t, tab, steps...)
}

func TestBrowserAgentRequestIsConfirmedByThePersonAndAcceptedByStaff(t *testing.T) {
	s := startStack(t)
	analyst := s.token("vera", auth.RoleAnalyst)
	permission := filepath.Join(t.TempDir(), "permission.pdf")
	if err := os.WriteFile(permission, signedPermission, 0o600); err != nil {
		t.Fatal(err)
	}
	const person = "pat@example.com"
	browser := newBrowser(t, true)

	agent := newTab(t, browser)
	browse(t, agent, chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.CSS("#agent-link")), chromedp.Click(chromedp.CSS("#agent-link")))
	fillAgentForm(t, agent, person, "")
	browse(t, agent, chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#permission-error")))
	if got := browserValue(t, agent, chromedp.Value(chromedp.CSS("#agent-contact"))); got != agentContact {
		t.Errorf("after the refusal the agent's address reads %q, want what was typed", got)
	}
	browse(t, agent, chromedp.SetUploadFiles(chromedp.CSS("#permission"), []string{permission}),
		chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#agent-sent")))
	id := requestIDInText.FindString(browserValue(t, agent, chromedp.Text(chromedp.CSS("#agent-reference"))))
	if id == "" {
		t.Fatal("the page that confirms the agent's request gives no reference")
	}
	// The agent's browser holds no key to the person's pages.
	browse(t, agent, chromedp.Navigate(s.base+"/requests/"+id), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if text := browserValue(t, agent, chromedp.Text(chromedp.CSS("main"))); strings.Contains(text, "marketing") {
		t.Fatalf("the agent's browser opened the person's status page:\n%s", text)
	}

	personTab := newTab(t, browser)
	mail := s.mailAbout(person, agentName)
	link := regexp.MustCompile(`http://x/requests/` + id + `/verify\?k=[A-Za-z0-9_-]+`).FindString(mail.Text)
	s.eventually("the workflow to hold the code", func() (bool, string) {
		var view struct {
			State *struct {
				CodeAttemptsLeft int `json:"code_attempts_left"`
			} `json:"state"`
		}
		s.must(http.StatusOK, http.MethodGet, "/api/v1/admin/requests/"+id, "", analyst, &view)
		return view.State != nil && view.State.CodeAttemptsLeft > 0, "no code yet"
	})
	browse(t, personTab, chromedp.Navigate(strings.Replace(link, "http://x", s.base, 1)), chromedp.WaitVisible(chromedp.CSS("#code")))
	if intro := browserValue(t, personTab, chromedp.Text(chromedp.CSS("main"))); !strings.Contains(intro, agentName) {
		t.Errorf("the person's verification page does not say who asked:\n%s", intro)
	}
	enterCode(t, personTab, codeInMail.FindString(mail.Text), "#status")
	s.awaitStaffStatus(id, analyst, domain.StatusPendingReview)
	browse(t, personTab, chromedp.Navigate(s.base+"/requests/"+id), chromedp.WaitVisible(chromedp.CSS("#status")))
	if status := browserValue(t, personTab, chromedp.Text(chromedp.CSS("#status"))); !strings.Contains(status, "Being reviewed by our privacy team") {
		t.Errorf("after confirming the person reads %q", status)
	}

	staff := newTab(t, browser)
	signInBrowser(t, staff, s.base, analyst, "#queue")
	browse(t, staff, chromedp.Navigate(s.base+"/admin/requests?by_agent=true"), chromedp.WaitVisible(chromedp.CSS("#queue .agent-mark")))
	browse(t, staff, chromedp.Navigate(s.base+"/admin/requests/"+id), chromedp.WaitVisible(chromedp.CSS("#accept-permission-form")))
	if who := browserValue(t, staff, chromedp.Text(chromedp.CSS("#agent"))); !strings.Contains(who, "Made by an authorized agent: "+agentName) {
		t.Errorf("the request page names the agent as %q", who)
	}
	if browserValue(t, staff, chromedp.Evaluate[bool](`!!document.querySelector("#approve-form")`)) {
		t.Error("the page offers approval before the permission is decided")
	}
	browse(t, staff,
		chromedp.SendKeys(chromedp.CSS("#accept-permission-reason"), "signed and dated by Pat"),
		chromedp.Click(chromedp.CSS("#accept-permission-submit")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
	)
	s.awaitStaffStatus(id, analyst, domain.StatusCompleted)
	s.mailAbout(agentContact, "authorized agent")
}
