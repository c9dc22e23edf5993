package requestdb_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/tlog"
)

func loggedRepo(t *testing.T, db *database.DB) (*requestdb.Repo, *tlog.Log) {
	t.Helper()
	log, err := tlog.New(db, keys.Secret([]byte("0123456789abcdef0123456789abcdef")), "dsr.test/log")
	if err != nil {
		t.Fatal(err)
	}
	return requestdb.New(db).WithLog(log), log
}

func milestoneStep(id string, seq int64, action string) requestdb.Step {
	return requestdb.Step{RequestID: id, Seq: seq, Event: requestdb.AuditEvent{At: at(2), Actor: "system", Action: action}}
}

func TestARetriedStepLogsItsMilestoneOnce(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		repo, log := loggedRepo(t, db)
		if err := repo.CreateRequest(ctx, newRequest("r1")); err != nil {
			t.Fatal(err)
		}
		for _, s := range []requestdb.Step{
			milestoneStep("r1", 1, "received"), milestoneStep("r1", 1, "received"),
			milestoneStep("r1", 2, "note_added"), milestoneStep("r1", 3, "email_verified"), milestoneStep("r1", 3, "email_verified"),
		} {
			if _, err := repo.ApplyStep(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		got, err := log.Entries(ctx, 0, 2)
		if err != nil {
			t.Fatal(err)
		}
		var milestones []tlog.Milestone
		for _, e := range got {
			milestones = append(milestones, e.Milestone)
		}
		if fmt.Sprint(milestones) != "[received email_verified]" {
			t.Fatalf("logged %v, want [received email_verified]", milestones)
		}
		if _, err := log.Entries(ctx, 0, 3); err == nil {
			t.Fatal("the log holds a third entry")
		}
		if !got[0].DueAt.Equal(at(31).Truncate(time.Second)) || got[0].RequestType != domain.TypeReview {
			t.Fatalf("entry %+v, want the request's due date and type", got[0])
		}
	})
}

// demoPeople are the demo company's people and the data points that verify them.
var demoPeople = map[string][]string{
	"ada.lovelace@example.com": {"SW1Y 4JH", "0815", "DEMO-70002"},
	"alice@example.com":        {"BS1 4DJ", "0123", "DEMO-10002"},
	"bob@example.com":          {"0155", "8765", "DEMO-20001"},
	"carol@example.com":        {"94105", "0142", "DEMO-30001"},
	"dave@example.com":         {"LS1 1AA", "0456"},
	"erin@example.com":         {"75004", "1234", "DEMO-50002"},
	"frank@example.com":        {"10115", "5678", "DEMO-60002"},
}

func TestLogEntriesHoldNoPersonalData(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		repo, log := loggedRepo(t, db)
		var ids []string
		for email, points := range demoPeople {
			req := newRequest("req-" + strings.Split(email, "@")[0])
			req.Email, req.MailboxEmail = email, email
			req.Details = fmt.Sprintf(`{"answers":%q}`, strings.Join(points, ","))
			if err := repo.CreateRequest(ctx, req); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, req.ID)
			for seq, action := range []string{"received", "email_verified", "identity_verified", "completed"} {
				if _, err := repo.ApplyStep(ctx, milestoneStep(req.ID, int64(seq+1), action)); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Every stored column, as text.
		rows, err := db.Raw("SELECT * FROM tlog_entries").Rows()
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		digest := regexp.MustCompile(`^[0-9a-f]{64}$`)
		n := 0
		for rows.Next() {
			n++
			values := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range values {
				ptrs[i] = &values[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, col := range cols {
				text := strings.ToLower(fmt.Sprintf("%s", values[i]))
				// Hashes are opaque digests; any other column is scanned for what it must not hold.
				if col == "request_hash" || col == "leaf_hash" {
					if !digest.MatchString(text) {
						t.Errorf("%s %q is not a SHA-256 digest", col, text)
					}
					continue
				}
				for email, points := range demoPeople {
					for _, pii := range append([]string{email, strings.Split(email, "@")[0]}, points...) {
						if strings.Contains(text, strings.ToLower(pii)) {
							t.Errorf("column %s holds %q", col, pii)
						}
					}
				}
				for _, id := range ids {
					if strings.Contains(text, strings.ToLower(id)) {
						t.Errorf("column %s holds a request ID", col)
					}
				}
			}
		}
		if n != 4*len(demoPeople) {
			t.Fatalf("%d entries, want %d", n, 4*len(demoPeople))
		}
		for _, id := range ids {
			if _, err := log.Receipt(ctx, id); err != nil {
				t.Fatalf("receipt of %s: %v", id, err)
			}
		}
	})
}
