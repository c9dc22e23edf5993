package activities_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

// outageOnSend counts messages and takes the mail log away the moment the first is
// accepted, for a second, as a database restart does.
type outageOnSend struct {
	t    *testing.T
	conn *pgx.Conn
	mu   sync.Mutex
	sent int
	back chan struct{}
}

func (s *outageOnSend) Send(ctx context.Context, _ mail.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent++
	if s.sent == 1 {
		if _, err := s.conn.Exec(ctx, `ALTER TABLE mail_log RENAME TO mail_log_away`); err != nil {
			s.t.Error(err)
		}
		go func() {
			defer close(s.back)
			time.Sleep(time.Second) // the outage's length, not a synchronisation
			if _, err := s.conn.Exec(context.Background(), `ALTER TABLE mail_log_away RENAME TO mail_log`); err != nil {
				s.t.Error(err)
			}
		}()
	}
	return nil
}

// Found by the fault suite (deploy/faults) across a PostgreSQL restart: a notice whose
// record failed after the server had accepted it was mailed again by the activity's retry.
// The record is now retried in place, so the person gets the notice once.
func TestANoticeIsMailedOnceWhenTheDatabaseIsAwayJustAfterSending(t *testing.T) {
	url := testenv.PostgresURL(t)
	repo := requestdb.New(testenv.OpenMigrated(t, url))
	now := time.Now().UTC()
	err := repo.CreateRequest(context.Background(), &requestdb.Request{
		ID: "r1", Type: domain.TypeReview, Jurisdiction: "gdpr", Status: "received", Email: "ada@example.com",
		EmailHash: "h", ReceivedAt: now, DueAt: now, OriginalDueAt: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	sender := &outageOnSend{t: t, conn: conn, back: make(chan struct{})}
	acts := &activities.Activities{Requests: repo, Mail: sender}
	in := activities.SendNoticeInput{Key: "r1:code:1", Notice: mail.Notice{
		Kind: mail.KindVerificationCode, RequestID: "r1", Data: mail.VerificationCode{Code: "123456", ValidMinutes: 30},
	}}
	// The engine retries a failed activity; so does this test, once the outage is over.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	first := acts.SendNotice(ctx, in)
	<-sender.back
	if first != nil {
		t.Logf("the first attempt failed (%v); retrying as the engine would", first)
		if err := acts.SendNotice(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if sender.sent != 1 {
		t.Errorf("the notice was mailed %d times, want once", sender.sent)
	}
	if sent, err := repo.MailSent(t.Context(), in.Key); err != nil || !sent {
		t.Errorf("the mail log does not record the notice: %v %v", sent, err)
	}
}
