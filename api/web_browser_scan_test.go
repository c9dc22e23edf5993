package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/connector/manual"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// The page scan: every page, at a phone's width and a desktop's, must fit its viewport and
// pass axe-core's checks. axe-core comes from the npm registry, pinned, and is fetched by
// the tests when missing, as chromium is.

const axeVersion = "4.14.1"

var (
	axeOnce   sync.Once
	axeSource string
	axeErr    error
)

// axeScript is the source of axe-core axeVersion, installed with npm into the user's cache
// directory (outside the repository) the first time it is needed.
func axeScript(t *testing.T) string {
	t.Helper()
	axeOnce.Do(func() { axeSource, axeErr = loadAxe() })
	if axeErr != nil {
		t.Fatal(axeErr)
	}
	return axeSource
}

func loadAxe() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("axe-core: no cache directory: %w", err)
	}
	parent := filepath.Join(cache, "dsr-tests")
	dir := filepath.Join(parent, "axe-core-"+axeVersion)
	src, err := readAxe(dir)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return src, err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	// Installed beside the cache entry and renamed into place, so that test processes
	// running at once never read a half-written copy.
	tmp, err := os.MkdirTemp(parent, "axe-install-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if _, err := exec.LookPath("npm"); err != nil {
		// As ensureChromium does for the browser.
		if out, err := exec.Command("sh", "-c", "apt-get update && apt-get install -y npm").CombinedOutput(); err != nil {
			return "", fmt.Errorf("install npm to fetch axe-core: %w\n%s", err, out)
		}
	}
	out, err := exec.Command("npm", "install", "--prefix", tmp, "--no-save", "--no-package-lock",
		"--no-audit", "--no-fund", "--ignore-scripts", "axe-core@"+axeVersion).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("install axe-core %s with npm (needs npm and the npm registry): %w\n%s", axeVersion, err, out)
	}
	if _, err := readAxe(tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(dir); statErr != nil {
			return "", err
		}
		// Another test process installed it first.
	}
	return readAxe(dir)
}

// readAxe reads the installed axe-core, refusing any version but the pinned one.
func readAxe(dir string) (string, error) {
	pkg := filepath.Join(dir, "node_modules", "axe-core")
	raw, err := os.ReadFile(filepath.Join(pkg, "package.json"))
	if err != nil {
		return "", err
	}
	var meta struct{ Version string }
	if err := json.Unmarshal(raw, &meta); err != nil {
		return "", fmt.Errorf("axe-core's package.json: %w", err)
	}
	if meta.Version != axeVersion {
		return "", fmt.Errorf("%s holds axe-core %s, want %s; remove it to reinstall", dir, meta.Version, axeVersion)
	}
	src, err := os.ReadFile(filepath.Join(pkg, "axe.min.js"))
	return string(src), err
}

// scanWidth is a viewport the scan checks every page at.
type scanWidth struct {
	width, height int64
	phone         bool
}

// scanWidths: a phone's, emulated because headless chromium's window is at least 500 px
// wide, and a desktop's.
var scanWidths = []scanWidth{{390, 844, true}, {1280, 900, false}}

func (w scanWidth) emulate() chromedp.Action[chromedp.Void] {
	if w.phone {
		return chromedp.EmulateViewport(w.width, w.height, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	return chromedp.EmulateViewport(w.width, w.height)
}

// checkPage checks the page the browser shows at each scan width: that it is no wider than
// the viewport and that axe finds nothing. It saves a screenshot at each width as
// name-width.png, and leaves the browser at the last width.
func checkPage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, w := range scanWidths {
		page := fmt.Sprintf("%s-%d", name, w.width)
		browse(t, ctx, w.emulate())
		for _, problem := range pageProblems(t, ctx) {
			t.Errorf("page %s at %d px: %s", name, w.width, problem)
		}
		screenshot(t, ctx, page)
	}
}

// pageProblems is what is wrong with the page as the browser shows it now: the overflow
// of a page wider than its viewport, and each violation axe finds.
func pageProblems(t *testing.T, ctx context.Context) []string {
	t.Helper()
	var problems []string
	fit := browserValue(t, ctx, chromedp.Evaluate[pageFit](fitScript))
	if fit.ScrollWidth > fit.Viewport {
		problems = append(problems, fmt.Sprintf("the page is %d px wide in a %d px viewport; widest overflowing element: %s",
			fit.ScrollWidth, fit.Viewport, fit.Widest))
	}
	if !browserValue(t, ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`)) {
		// The page's policy forbids inline scripts; the DevTools protocol evaluates outside it.
		browse(t, ctx, chromedp.Evaluate[chromedp.Void](axeScript(t)))
	}
	violations := browserValue(t, ctx, chromedp.Evaluate[[]axeViolation](axeRunScript, chromedp.EvalAwaitPromise))
	for _, v := range violations {
		problems = append(problems, fmt.Sprintf("axe %s (%s) at %s: %s", v.ID, v.Impact, strings.Join(v.Targets, ", "), v.Help))
	}
	return problems
}

// pageFit is how wide the page is against its viewport.
type pageFit struct {
	ScrollWidth int    `json:"scrollWidth"`
	Viewport    int    `json:"viewport"`
	Widest      string `json:"widest"`
}

// fitScript measures the page against the viewport without its scroll bar; when the page
// is wider, it names the widest element reaching past the viewport that no scrolling box
// of its own holds.
const fitScript = `(() => {
  const root = document.documentElement;
  const viewport = Math.min(window.innerWidth, root.clientWidth);
  const fit = {scrollWidth: root.scrollWidth, viewport: viewport, widest: "none of the elements (a margin or a pseudo-element?)"};
  if (fit.scrollWidth <= viewport) return fit;
  const scrolls = (e) => { for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
    if (getComputedStyle(p).overflowX !== "visible") return true; } return false; };
  let widest = null, box = null;
  for (const e of document.body.querySelectorAll("*")) {
    const r = e.getBoundingClientRect();
    if (r.right <= viewport + 0.5 || scrolls(e)) continue;
    if (!box || r.width > box.width) { widest = e; box = r; }
  }
  if (widest) {
    fit.widest = widest.tagName.toLowerCase() + (widest.id ? "#" + widest.id : "") +
      [...widest.classList].map((c) => "." + c).join("") +
      " (" + Math.round(box.width) + " px wide, right edge at " + Math.round(box.right) + " px)";
  }
  return fit;
})()`

// axeViolation is one rule axe found broken, with the elements that break it.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

const axeRunScript = `axe.run(document, {resultTypes: ["violations"]}).then((r) => r.violations.map((v) => ({
  id: v.id, impact: v.impact || "", help: v.help,
  targets: v.nodes.map((n) => n.target.flat(Infinity).join(" ")),
})))`

// newTab opens a tab of the browser with its own cookies, as another person's browser
// would have; it closes when the test ends.
func newTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first run opens the tab, which lives as long as ctx: it gets no timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

// The page check fails on a page wider than its viewport, naming the element that makes
// it so, and on what axe finds, here an image without a text alternative.
func TestBrowserPageCheckFindsOverflowAndAxeViolations(t *testing.T) {
	h := newHarness(t, false)
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	ctx := newBrowser(t, false)
	browse(t, ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#submit")))
	browse(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const wide = document.createElement("div");
		wide.id = "too-wide";
		wide.style.width = "2000px";
		wide.textContent = "wide";
		const img = document.createElement("img");
		img.src = "/static/style.css";
		document.querySelector("main").append(wide, img);
	})()`))
	for _, w := range scanWidths {
		browse(t, ctx, w.emulate())
		got := strings.Join(pageProblems(t, ctx), "\n")
		if !strings.Contains(got, fmt.Sprintf("in a %d px viewport; widest overflowing element: div#too-wide (2000 px wide", w.width)) ||
			!strings.Contains(got, "axe image-alt (critical)") {
			t.Errorf("at %d px the check found:\n%s\nwant the 2000 px div and the image without alt text", w.width, got)
		}
	}
}

// withDemoCompany gives the stack's worker the demo company's SQL stores, its paper archive
// and the recipients it tells by mail, so that requests find, change and keep data.
func withDemoCompany(t *testing.T) func(*api.Options, *activities.Activities) {
	t.Helper()
	ctx := context.Background()
	m, err := demo.Setup(ctx, "sqlite:"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stores, closeStores, err := sqlstore.OpenAll(ctx, m, sqlstore.WithHashKey([]byte("page-scan-test-hash-key-32-bytes")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := closeStores(); err != nil {
			t.Logf("close the demo stores: %v", err)
		}
	})
	return func(_ *api.Options, a *activities.Activities) {
		a.Stores, a.Recipients = stores, map[string][]datamap.Recipient{}
		for _, st := range m.Stores {
			if st.Kind == datamap.KindManual {
				a.Stores = append(a.Stores, manual.New(st, a.Requests))
			}
			for _, r := range st.Recipients {
				// Webhook recipients need a server of their own; mail reaches the dev mailbox.
				if r.Webhook == "" {
					a.Recipients[st.Name] = append(a.Recipients[st.Name], r)
				}
			}
		}
	}
}

// demoPerson is the demo person with the address.
func demoPerson(t *testing.T, email string) demo.DemoPerson {
	t.Helper()
	for _, p := range demo.DemoPeople() {
		if p.Email == email {
			return p
		}
	}
	t.Fatalf("no demo person %s", email)
	return demo.DemoPerson{}
}

// reportLinkIn is the report link of a request in its completion mail.
func (s *stack) reportLinkIn(to, id string) string {
	s.t.Helper()
	return s.linkInMail("the completion mail to "+to, to, `http://x/api/v1/requests/`+regexp.QuoteMeta(id)+`/report\?[^\s"<>]+`)
}

// proveIdentity answers the identity check with the person's data points on file.
func (s *stack) proveIdentity(req api.IntakeAnswer, p demo.DemoPerson) {
	s.t.Helper()
	s.awaitRequesterStatus(req, domain.StatusAwaitingIdentityVerification)
	answers, err := json.Marshal(map[string]any{"answers": map[string]string{
		"postal_code": p.DataPoints["postal_code"], "phone_last4": p.DataPoints["phone_last4"]}})
	if err != nil {
		s.t.Fatal(err)
	}
	var out api.IdentityAnswer
	s.must(http.StatusOK, http.MethodPost, "/api/v1/requests/"+req.ID+"/identity", string(answers), req.StatusToken, &out)
	if !out.Verified {
		s.t.Fatalf("identity of %s = %+v, want verified", req.ID, out)
	}
}

// Every page, in every state its reader meets it, fits a 390 px phone and a 1280 px
// desktop and passes axe-core; its screenshots land in the screenshots folder.
func TestBrowserEveryPageFitsAndPassesAxe(t *testing.T) {
	axeScript(t) // fetched before the stack starts, so that a missing npm fails fast
	scanner := demoWithUnmappedEmail(t)
	s := startStack(t, withDemoCompany(t), func(o *api.Options, _ *activities.Activities) { o.DataMapScanner = scanner })
	analyst, auditor := s.token("vera", auth.RoleAnalyst), s.token("ann", auth.RoleAuditor)

	// Requests in each state a requester sees, opened together so that their workflows run
	// side by side: completed with an outcome, waiting for a manual task, waiting for the
	// requester's identity, waiting for review, denied.
	ada, alice, erin := demoPerson(t, "ada.lovelace@example.com"), demoPerson(t, "alice@example.com"), demoPerson(t, "erin@example.com")
	// Under Connecticut's law a completion that keeps a record may be appealed.
	completed := s.open(`{"type":"suppress","email":"` + ada.Email + `","jurisdiction":"ctdpa","details":{"scope":{"all":true}}}`)
	// A completed review's mail links to its report.
	reviewed := s.open(`{"type":"review","email":"` + erin.Email + `","jurisdiction":"gdpr"}`)
	manualTask := s.open(`{"type":"review","email":"` + alice.Email + `","jurisdiction":"gdpr"}`)
	identity := s.open(`{"type":"review","email":"bob@example.com","jurisdiction":"gdpr"}`)
	review := s.open(`{"type":"correct","email":"carol@example.com","jurisdiction":"gdpr","details":{"changes":[{"field":"name","value":"Carol Clark"}]}}`)
	denied := s.open(`{"type":"correct","email":"dave@example.com","jurisdiction":"gdpr","details":{"changes":[{"field":"name","value":"Dave Day"}]}}`)
	// A Virginia denial may be appealed: its status page offers the form, then the appeal.
	appealed := s.open(`{"type":"correct","email":"vic@example.com","jurisdiction":"vcdpa","details":{"changes":[{"field":"name","value":"Vic Vale"}]}}`)
	// Requests an authorized agent made: one the person has yet to confirm, one whose
	// permission waits for staff.
	agentUnconfirmed := s.open(agentIntake(t, "restrict", "hana@example.com", signedPermission))
	agentConfirmed := s.open(agentIntake(t, "restrict", "grace@example.com", signedPermission))
	s.verify(completed, ada.Email)
	s.verify(reviewed, erin.Email)
	s.verify(manualTask, alice.Email)
	s.verify(identity, "bob@example.com")
	s.verify(review, "carol@example.com")
	s.verify(denied, "dave@example.com")
	s.verify(appealed, "vic@example.com")
	s.confirmAsThePerson(agentConfirmed.ID, "grace@example.com", analyst)
	s.proveIdentity(completed, ada)
	s.proveIdentity(reviewed, erin)
	s.proveIdentity(manualTask, alice)
	s.awaitRequesterStatus(denied, domain.StatusPendingReview)
	s.must(http.StatusOK, http.MethodPost, "/api/v1/admin/requests/"+denied.ID+"/deny", `{"reason":"we could not match the name to our records"}`, analyst, nil)
	s.awaitRequesterStatus(appealed, domain.StatusPendingReview)
	s.must(http.StatusOK, http.MethodPost, "/api/v1/admin/requests/"+appealed.ID+"/deny", `{"reason":"we could not match the name to our records"}`, analyst, nil)
	s.awaitRequesterStatus(completed, domain.StatusAwaitingManualTasks)
	s.must(http.StatusOK, http.MethodPost, completePath(requestdb.TaskID(completed.ID, "paper-archive")), `{"result":{"found":["name"],"changed":["name"],
		"retained":[{"what":"signed contract","reason":"Contract law","until":"2031-01-01T00:00:00Z"}]},"note":"box 4"}`, analyst, nil)
	s.awaitRequesterStatus(reviewed, domain.StatusAwaitingManualTasks)
	s.must(http.StatusOK, http.MethodPost, completePath(requestdb.TaskID(reviewed.ID, "paper-archive")), `{"result":{"not_found":true}}`, analyst, nil)
	s.awaitRequesterStatus(completed, domain.StatusCompleted)
	s.awaitRequesterStatus(reviewed, domain.StatusCompleted)
	s.awaitRequesterStatus(manualTask, domain.StatusAwaitingManualTasks)
	s.awaitRequesterStatus(identity, domain.StatusAwaitingIdentityVerification)
	s.awaitRequesterStatus(review, domain.StatusPendingReview)
	s.awaitRequesterStatus(denied, domain.StatusDenied)
	s.awaitRequesterStatus(appealed, domain.StatusDenied)
	s.awaitStaffStatus(agentConfirmed.ID, analyst, domain.StatusPendingReview)

	browser := newBrowser(t, false)
	t.Run("requester pages", func(t *testing.T) {
		s.t = t
		person := newTab(t, browser)
		browse(t, person, chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.CSS("#type-restrict")))
		checkPage(t, person, "request-form")
		sendBadAddress(t, person)
		checkPage(t, person, "request-form-errors")
		browse(t, person,
			chromedp.Navigate(s.base+"/"),
			chromedp.WaitVisible(chromedp.CSS("#type-restrict")),
		)
		limitMarketingByForm(t, person, "rosa@example.com")
		checkPage(t, person, "verify")
		rosa := s.requestAwaitingCode(person, analyst)
		wrong := "000000"
		if s.code("rosa@example.com") == wrong {
			wrong = "111111"
		}
		enterCode(t, person, wrong, "#code-error")
		checkPage(t, person, "verify-wrong-code")
		browse(t, person, chromedp.Navigate(s.base+"/requests/"+rosa), chromedp.WaitVisible(chromedp.CSS("#status")), chromedp.WaitVisible(chromedp.CSS(receiptChecked)))
		checkPage(t, person, "status-awaiting-code")

		// The others are opened from the mailed links, which set this browser's cookie.
		for _, page := range []struct {
			name, email string
			req         api.IntakeAnswer
			// updates says the request moves on its own, so the page reloads itself.
			updates bool
		}{
			{"status-awaiting-identity", "bob@example.com", identity, false},
			{"status-pending-review", "carol@example.com", review, true},
			{"status-awaiting-manual-task", alice.Email, manualTask, true},
			{"status-completed", ada.Email, completed, false},
			{"status-denied", "dave@example.com", denied, false},
			{"status-denied-appealable", "vic@example.com", appealed, false},
		} {
			// Each has a logged milestone, so its page checks the receipt; the check is scanned
			// with its answer.
			browse(t, person, chromedp.Navigate(s.statusLinkIn(page.email, page.req.ID)), chromedp.WaitVisible(chromedp.CSS("#status")),
				chromedp.WaitVisible(chromedp.CSS(receiptChecked)))
			if got := browserValue(t, person, chromedp.AttributeValue(chromedp.CSS("#receipt-check"), "data-result")); got.Value != "checked" {
				t.Errorf("%s: the receipt check found %q, want checked", page.name, got.Value)
			}
			if page.updates {
				// Stopped first, so that no reload comes in the middle of the check.
				browse(t, person, chromedp.WaitVisible(chromedp.CSS("#refresh-stop")), chromedp.Click(chromedp.CSS("#refresh-stop")))
				if label := browserValue(t, person, chromedp.Text(chromedp.CSS("#refresh-stop"))); label != "Start updating this page again" {
					t.Errorf("%s: after stopping the updates the button reads %q", page.name, label)
				}
			}
			checkPage(t, person, page.name)
		}
		browse(t, person, chromedp.Navigate(s.base+"/requests/"+completed.ID), chromedp.WaitVisible(chromedp.CSS("#appeal-text-input")))
		if intro := browserValue(t, person, chromedp.Text(chromedp.CSS("#appeal p"))); !strings.HasPrefix(intro, "We kept some of your data") {
			t.Errorf("the partly fulfilled request's appeal offer reads %q", intro)
		}
		s.must(http.StatusAccepted, http.MethodPost, "/api/v1/requests/"+appealed.ID+"/appeal", `{"text":"My name is Vic Vale.\nMy passport says so."}`, appealed.StatusToken, nil)
		browse(t, person, chromedp.Navigate(s.base+"/requests/"+appealed.ID), chromedp.WaitVisible(chromedp.CSS("#appeal-status")))
		checkPage(t, person, "status-appeal-open")
		browse(t, person, chromedp.Navigate(s.base+"/requests/"+completed.ID+"/report?format=html"), chromedp.WaitVisible(chromedp.CSS("main")))
		checkPage(t, person, "report")
		browse(t, person, chromedp.Navigate(s.base+"/requests/"+review.ID+"/report?format=html"), chromedp.WaitVisible(chromedp.CSS("main")))
		checkPage(t, person, "error")

		// The completion mail's report link opens in a browser without the request's cookie.
		stranger := newTab(t, browser)
		browse(t, stranger, chromedp.Navigate(s.reportLinkIn(erin.Email, reviewed.ID)), chromedp.WaitVisible(chromedp.CSS("main h1")))
		checkPage(t, stranger, "report-mailed-link")
		browse(t, person, chromedp.Navigate(s.base+"/requests/"+review.ID+"?k=not-the-key"), chromedp.WaitVisible(chromedp.CSS("main")))
		checkPage(t, person, "link-refused")

		// An authorized agent's form, refused and sent, and the page where the person
		// confirms the agent's request.
		agent := newTab(t, browser)
		browse(t, agent, chromedp.Navigate(s.base+"/agent"), chromedp.WaitVisible(chromedp.CSS("#agent-name")))
		checkPage(t, agent, "agent-form")
		browse(t, agent, chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#permission-error")))
		checkPage(t, agent, "agent-form-errors")
		permission := filepath.Join(t.TempDir(), "permission.pdf")
		if err := os.WriteFile(permission, signedPermission, 0o600); err != nil {
			t.Fatal(err)
		}
		browse(t, agent, chromedp.Navigate(s.base+"/agent"))
		fillAgentForm(t, agent, "ines@example.com", permission)
		browse(t, agent, chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#agent-sent")))
		checkPage(t, agent, "agent-sent")
		verifyLink := s.linkInMail("the code mail of the agent's request", "hana@example.com", `http://x/requests/`+agentUnconfirmed.ID+`/verify\?k=[A-Za-z0-9_-]+`)
		browse(t, person, chromedp.Navigate(verifyLink), chromedp.WaitVisible(chromedp.CSS("#agent-intro")))
		checkPage(t, person, "verify-agent-request")
	})

	t.Run("staff pages", func(t *testing.T) {
		s.t = t
		staff := newTab(t, browser)
		browse(t, staff, chromedp.Navigate(s.base+"/admin"), chromedp.WaitVisible(chromedp.CSS("#token")))
		checkPage(t, staff, "staff-sign-in")
		signInRefused(t, staff, s.base)
		checkPage(t, staff, "staff-sign-in-refused")
		signInBrowser(t, staff, s.base, analyst, "#queue")
		checkPage(t, staff, "staff-queue")
		browse(t, staff, chromedp.Navigate(s.base+"/admin/requests?id=not-an-id"), chromedp.WaitVisible(chromedp.CSS("#f-id-error")))
		checkPage(t, staff, "staff-queue-errors")
		browse(t, staff, chromedp.Navigate(s.base+"/admin/requests/"+review.ID), chromedp.WaitVisible(chromedp.CSS("#approve-form")))
		// Before approving, the analyst reads what approving will change in each store.
		if plan := browserValue(t, staff, chromedp.Text(chromedp.CSS("#plan-accounts + div table"))); !strings.Contains(plan, "profiles") ||
			!strings.Contains(plan, "set to the new value in 1") {
			t.Errorf("the page before approval shows the accounts plan as %q", plan)
		}
		checkPage(t, staff, "staff-request-pending-review")
		browse(t, staff, chromedp.Navigate(s.base+"/admin/requests/"+completed.ID), chromedp.WaitVisible(chromedp.CSS("#status")))
		checkPage(t, staff, "staff-request-completed")
		browse(t, staff, chromedp.Navigate(s.base+"/admin/requests/"+agentConfirmed.ID), chromedp.WaitVisible(chromedp.CSS("#accept-permission-form")))
		checkPage(t, staff, "staff-request-agent-permission")
		browse(t, staff, chromedp.Navigate(s.base+"/admin/requests?by_agent=true"), chromedp.WaitVisible(chromedp.CSS("#queue .agent-mark")))
		checkPage(t, staff, "staff-queue-agents")
		taskPage := "/admin/tasks/" + url.PathEscape(requestdb.TaskID(manualTask.ID, "paper-archive"))
		browse(t, staff, chromedp.Navigate(s.base+"/admin/tasks"), chromedp.WaitVisible(chromedp.CSS(`#tasks a[href="`+taskPage+`"]`)))
		checkPage(t, staff, "staff-tasks")
		browse(t, staff, chromedp.Navigate(s.base+taskPage), chromedp.WaitVisible(chromedp.CSS("#task-form")))
		checkPage(t, staff, "staff-task")
		// A bulk approval of a completed request is refused, so the page shows a refusal
		// and changes nothing.
		browse(t, staff,
			chromedp.Navigate(s.base+"/admin/requests?id="+completed.ID),
			chromedp.WaitVisible(chromedp.CSS("#pick-"+completed.ID)),
			chromedp.Click(chromedp.CSS("#pick-"+completed.ID)),
			chromedp.Click(chromedp.CSS("#bulk-submit")),
			chromedp.WaitVisible(chromedp.CSS("#bulk-outcomes")),
		)
		checkPage(t, staff, "staff-bulk")
		browse(t, staff, chromedp.Navigate(s.base+"/admin/metrics"), chromedp.WaitVisible(chromedp.CSS("#metrics")))
		checkPage(t, staff, "staff-metrics")
		browse(t, staff, chromedp.Navigate(s.base+"/admin/metrics?from=yesterday"), chromedp.WaitVisible(chromedp.CSS("#m-from-error")))
		checkPage(t, staff, "staff-metrics-errors")
		browse(t, staff, chromedp.Navigate(s.base+"/admin/staff-request"), chromedp.WaitVisible(chromedp.CSS("#sr-email")))
		checkPage(t, staff, "staff-request-form")
		// The analyst who denied the appealed request sees the appeal without the decision.
		browse(t, staff, chromedp.Navigate(s.base+"/admin/appeals"), chromedp.WaitVisible(chromedp.CSS("#appeals")))
		checkPage(t, staff, "staff-appeals")
		browse(t, staff, chromedp.Navigate(s.base+"/admin/requests/"+appealed.ID), chromedp.WaitVisible(chromedp.CSS("#appeal-decide-by-another")))
		checkPage(t, staff, "staff-request-appeal-refuser")

		admin := newTab(t, browser)
		signInBrowser(t, admin, s.base, s.token("dana", auth.RoleAdmin), "#queue")
		browse(t, admin, chromedp.Navigate(s.base+"/admin/datamap"), chromedp.WaitVisible(chromedp.CSS("#datamap-scan")))
		checkPage(t, admin, "admin-datamap")
		browse(t, admin, chromedp.Click(chromedp.CSS("#datamap-scan button")), chromedp.WaitVisible(chromedp.CSS("#findings")))
		checkPage(t, admin, "admin-datamap-scanned")
	})

	t.Run("auditor pages", func(t *testing.T) {
		s.t = t
		ctx := newTab(t, browser)
		signInBrowser(t, ctx, s.base, auditor, "#audit-search")
		checkPage(t, ctx, "audit")
		browse(t, ctx, chromedp.Navigate(s.base+"/audit?request=not-an-id"), chromedp.WaitVisible(chromedp.CSS("#audit-error")))
		checkPage(t, ctx, "audit-errors")
		browse(t, ctx, chromedp.Navigate(s.base+"/audit?request="+completed.ID), chromedp.WaitVisible(chromedp.CSS("#history")))
		checkPage(t, ctx, "audit-request")
		// The privacy team's pages refuse an auditor.
		browse(t, ctx, chromedp.Navigate(s.base+"/admin/requests"), chromedp.WaitVisible(chromedp.CSS("main")))
		checkPage(t, ctx, "staff-no-access")
	})
}
