package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
)

// A restriction that lifts its limits is taken by the API and reads as allowing a use
// again, to the person and to staff; lift belongs to a restriction alone.
func TestALiftReadsAsAllowingAUseAgain(t *testing.T) {
	h := newHarness(t, false)
	a := h.do(http.MethodPost, "/api/v1/requests", "", `{"type":"restrict","email":"ada@example.com","details":{"limits":["affiliate_sharing"],"lift":true}}`, "")
	var in api.IntakeAnswer
	if a.code != http.StatusAccepted || json.Unmarshal([]byte(a.body), &in) != nil {
		t.Fatalf("intake of a lift = %d %s, want 202", a.code, a.body)
	}
	if page := h.do(http.MethodGet, "/requests/"+in.ID, "", "", in.StatusToken); !strings.Contains(page.body, `id="request-type">Allow use of your personal data again<`) {
		t.Errorf("the status page does not say the request allows a use again:\n%s", page.body)
	}
	staff := h.signIn(h.token("carol", auth.RoleAnalyst)).send(http.MethodGet, "/admin/requests/"+in.ID, "", "")
	for _, want := range []string{"Lift a limit: allow a use of data again", "Lift these limits, so the use is allowed again: affiliate sharing"} {
		if !strings.Contains(staff.body, want) {
			t.Errorf("the staff page does not say %q", want)
		}
	}
	refused := h.do(http.MethodPost, "/api/v1/requests", "", `{"type":"review","email":"ada@example.com","details":{"lift":true}}`, "")
	if refused.code != http.StatusUnprocessableEntity || refused.errorBody(t).Fields["details.lift"] == "" {
		t.Errorf("lift on a review = %d %s, want 422 at details.lift", refused.code, refused.body)
	}
}
