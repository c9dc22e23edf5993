package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/tlog"
)

// receiptLinkIn is the receipt link of one milestone of a request, from the mail to to.
func (s *stack) receiptLinkIn(to, id string, m tlog.Milestone) string {
	s.t.Helper()
	return s.linkInMail("the "+string(m)+" mail to "+to, to,
		`http://x/api/v1/requests/`+regexp.QuoteMeta(id)+`/receipt\?milestone=`+string(m)+`&signature=[A-Za-z0-9_-]+`)
}

// receiptByLink downloads the receipt a mailed link opens, with no status token or cookie,
// and checks it with the log's published key.
func (s *stack) receiptByLink(link string) tlog.Receipt {
	s.t.Helper()
	a := s.do(http.MethodGet, strings.TrimPrefix(link, s.base), "", "")
	if a.code != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Disposition"), "attachment;") {
		s.t.Fatalf("mailed receipt link = %d %q %s", a.code, a.header.Get("Content-Disposition"), a.body)
	}
	var r tlog.Receipt
	if err := json.Unmarshal([]byte(a.body), &r); err != nil {
		s.t.Fatal(err)
	}
	key := s.do(http.MethodGet, "/api/v1/log/public-key", "", "")
	if err := r.Verify(strings.TrimSpace(key.body)); err != nil {
		s.t.Fatalf("the receipt of a mailed link does not verify: %v", err)
	}
	return r
}

// Each milestone's mail links to the receipt of that milestone, which opens without
// signing in and verifies offline, however far the request has moved on since.
func TestEachMilestoneMailLinksToAReceiptOfThatMilestone(t *testing.T) {
	s := startStack(t)
	analyst := s.token("vera", auth.RoleAnalyst)

	restrict := s.open(`{"type":"restrict","email":"rosa@example.com","details":{"limits":["marketing_email"]}}`)
	correct := s.open(`{"type":"correct","email":"dave@example.com","jurisdiction":"gdpr","details":{"changes":[{"field":"name","value":"Dave Day"}]}}`)
	s.verify(restrict, "rosa@example.com")
	s.verify(correct, "dave@example.com")
	s.awaitRequesterStatus(restrict, domain.StatusCompleted)
	s.awaitRequesterStatus(correct, domain.StatusPendingReview)
	s.must(http.StatusOK, http.MethodPost, "/api/v1/admin/requests/"+correct.ID+"/extend", `{"reason":"many systems hold the data"}`, analyst, nil)
	s.must(http.StatusOK, http.MethodPost, "/api/v1/admin/requests/"+correct.ID+"/deny", `{"reason":"we could not match the name to our records"}`, analyst, nil)
	s.awaitRequesterStatus(correct, domain.StatusDenied)

	for _, c := range []struct {
		to  string
		req api.IntakeAnswer
		m   tlog.Milestone
	}{
		{"rosa@example.com", restrict, tlog.Received}, // the code mail
		{"rosa@example.com", restrict, tlog.EmailVerified},
		{"rosa@example.com", restrict, tlog.Completed},
		{"dave@example.com", correct, tlog.Extended},
		{"dave@example.com", correct, tlog.Denied},
	} {
		r := s.receiptByLink(s.receiptLinkIn(c.to, c.req.ID, c.m))
		if r.RequestID != c.req.ID || r.Entry.Milestone != c.m {
			t.Errorf("the %s mail's receipt is of %s for %s, want %s for %s", c.m, r.Entry.Milestone, r.RequestID, c.m, c.req.ID)
		}
	}

	link := s.receiptLinkIn("rosa@example.com", restrict.ID, tlog.Completed)
	for name, changed := range map[string]string{
		"another milestone":   strings.Replace(link, "milestone=completed", "milestone=received", 1),
		"another request":     strings.Replace(link, restrict.ID, correct.ID, 1),
		"a changed signature": link[:len(link)-2] + "xx",
	} {
		a := s.do(http.MethodGet, strings.TrimPrefix(changed, s.base), "", "")
		if a.code != http.StatusUnauthorized || a.errorBody(t).Code != "receipt_link_invalid" {
			t.Errorf("a link changed to %s = %d %s, want 401 receipt_link_invalid", name, a.code, a.body)
		}
	}
}
