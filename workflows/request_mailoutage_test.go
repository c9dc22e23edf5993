package workflows_test

import (
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/workflows"
)

// Found by the fault suite (deploy/faults) with the SMTP server down for a minute: the
// code's local activity gave up once its one-minute start-to-close had passed (a local
// activity's schedule-to-close defaults to it) and failed the workflow, leaving the request
// "received" for good with no reason staff could see. It retries until the mail goes, as
// the ordinary activity always did.
func TestACodeMailedAfterALongMailOutageStillLetsTheRequestComplete(t *testing.T) {
	h := newHarness(t, domain.TypeRestrict)
	h.mailDownUntil = start.Add(20 * time.Minute)
	h.at(30*time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	st := h.run()
	wantStatus(t, st, domain.StatusCompleted)
	if h.codes != 1 {
		t.Errorf("%d codes issued, want 1", h.codes)
	}
}
