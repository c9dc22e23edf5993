package api_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
)

// recordingSender notes each recipient as given to the sender, before the dev mailbox
// folds it for lookups.
type recordingSender struct {
	mu    sync.Mutex
	inner mail.Sender
	to    []string
}

func (s *recordingSender) Send(ctx context.Context, m mail.Message) error {
	s.mu.Lock()
	s.to = append(s.to, m.To)
	s.mu.Unlock()
	return s.inner.Send(ctx, m)
}

func (s *recordingSender) recipients() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.to)
}

// matchingStore records the address each operation asks it to match.
type matchingStore struct {
	mu     sync.Mutex
	emails []string
}

func (s *matchingStore) Name() string { return "crm" }

func (s *matchingStore) Apply(_ context.Context, op connector.Operation) (connector.Result, error) {
	s.mu.Lock()
	s.emails = append(s.emails, op.Email)
	s.mu.Unlock()
	return connector.Result{Store: "crm", Changed: []string{"marketing_email"}}, nil
}

func (s *matchingStore) Capabilities() connector.Capabilities { return connector.Capabilities{} }

// Local parts may be case-sensitive, so mail goes to the address as typed; records are
// matched on its normalised form.
func TestMailGoesToTheAddressAsTypedWhileStoresMatchItsNormalForm(t *testing.T) {
	sender, store := &recordingSender{}, &matchingStore{}
	s := startStack(t, func(_ *api.Options, a *activities.Activities) {
		sender.inner = a.Mail
		a.Mail, a.Stores = sender, []connector.Connector{store}
	})
	const typed = "Ada.Lovelace@Example.COM"
	req := s.open(`{"type":"restrict","email":"  ` + typed + ` ","details":{"limits":["marketing_email"]}}`)
	s.verify(req, "ada.lovelace@example.com")
	s.awaitRequesterStatus(req, domain.StatusCompleted)
	s.eventually("the completion mail", func() (bool, string) {
		return len(sender.recipients()) >= 2, ""
	})
	for _, to := range sender.recipients() {
		if to != typed {
			t.Errorf("mailed %q, want the address as typed, %q", to, typed)
		}
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.emails) == 0 || slices.ContainsFunc(store.emails, func(e string) bool { return e != "ada.lovelace@example.com" }) {
		t.Errorf("store asked to match %q, want only the normalised address", store.emails)
	}
}
