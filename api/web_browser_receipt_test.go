package api_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/dsr-project/dsr/internal/domain"
)

// receiptChecked is the status page's receipt check once it has an answer.
const receiptChecked = `#receipt-check[data-result]:not([data-result="checking"])`

// receiptCheckOn opens the status page at link and returns what its receipt check found,
// and the words it said.
func receiptCheckOn(t *testing.T, ctx context.Context, link string) (result, words string) {
	t.Helper()
	browse(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(receiptChecked)))
	got := browserValue(t, ctx, chromedp.AttributeValue(chromedp.CSS("#receipt-check"), "data-result"))
	return got.Value, browserValue(t, ctx, chromedp.Text(chromedp.CSS("#receipt-check")))
}

// The status page of a real request checks its receipt in the browser and says so, in the
// page's language.
func TestBrowserStatusPageChecksTheReceipt(t *testing.T) {
	s := startStack(t)
	req := s.open(`{"type":"restrict","email":"rosa@example.com","details":{"limits":["marketing_email"]}}`)
	s.verify(req, "rosa@example.com")
	s.awaitRequesterStatus(req, domain.StatusCompleted)

	person := newBrowser(t, true)
	link := s.statusLinkIn("rosa@example.com", req.ID)
	result, words := receiptCheckOn(t, person, link)
	if result != "checked" || !strings.HasPrefix(words, "Checked: this log holds the step “We completed your request”, dated ") {
		t.Errorf("receipt check = %s: %q", result, words)
	}
	result, words = receiptCheckOn(t, person, s.base+"/requests/"+req.ID+"?lang=nb")
	if result != "checked" || !strings.HasPrefix(words, "Kontrollert: denne loggen inneholder trinnet «") {
		t.Errorf("Norwegian receipt check = %s: %q", result, words)
	}
}

// A receipt whose entry the database changed after the log signed it fails the check, and a
// browser that cannot check Ed25519 says so and points to dsr receipt verify.
func TestBrowserReceiptCheckFailsOnAChangedEntryAndSaysWhenItCannotCheck(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	h.recordMilestone(req.ID, 1, "received")
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	link := srv.URL + "/requests/" + req.ID + "?k=" + testSecret.StatusLinkKey(req.ID)
	browser := newBrowser(t, false)

	if result, words := receiptCheckOn(t, newTab(t, browser), link); result != "checked" {
		t.Fatalf("receipt check before any change = %s: %q", result, words)
	}

	noEd25519 := newTab(t, browser)
	browse(t, noEd25519, hideEd25519)
	result, words := receiptCheckOn(t, noEd25519, link)
	if result != "no-signature" || !strings.Contains(words, "cannot check Ed25519 signatures") || !strings.Contains(words, "dsr receipt verify") {
		t.Errorf("receipt check without Ed25519 = %s: %q", result, words)
	}

	// Someone who can drop the table's guard moves the step a day earlier behind the log's
	// back; the leaf hashes the log signed stay as they were.
	if err := h.db.DB.Exec("DROP TRIGGER tlog_entries_no_update").Error; err != nil {
		t.Fatal(err)
	}
	if err := h.db.DB.Exec("UPDATE tlog_entries SET at = ?", h.now.Add(-24*time.Hour).Truncate(time.Second)).Error; err != nil {
		t.Fatal(err)
	}
	result, words = receiptCheckOn(t, newTab(t, browser), link)
	if result != "failed" || !strings.HasPrefix(words, "Could not check the receipt: it does not match the log's signed record.") {
		t.Errorf("receipt check of a changed entry = %s: %q", result, words)
	}
}

// hideEd25519 makes the tab's WebCrypto refuse Ed25519 keys, as a browser without it does.
var hideEd25519 = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		const importKey = crypto.subtle.importKey.bind(crypto.subtle);
		crypto.subtle.importKey = (format, key, algorithm, ...rest) =>
			(algorithm === "Ed25519" || (algorithm && algorithm.name === "Ed25519"))
				? Promise.reject(new DOMException("Unrecognized name.", "NotSupportedError"))
				: importKey(format, key, algorithm, ...rest);`})
	return err
})
