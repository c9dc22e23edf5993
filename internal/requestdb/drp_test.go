package requestdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

func TestAStepOwesADRPAgentOneCallbackPerStatusChangeOrExtension(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		mustCreate(t, repo, "r1")
		mustCreate(t, repo, "plain")
		link := &requestdb.DRPRequest{RequestID: "r1", AgentID: "AA", Exercise: "access", StatusCallback: "https://agent.example/cb", ReceivedAt: at(2)}
		if err := repo.CreateDRPRequest(ctx, link); err != nil {
			t.Fatal(err)
		}
		due := at(20)
		steps := []requestdb.Step{
			step(1, domain.StatusInProgress, "a"),
			{RequestID: "r1", Seq: 2, Event: requestdb.AuditEvent{At: at(3), Action: "note_added", FromStatus: "in_progress", ToStatus: "in_progress"}},
			{RequestID: "r1", Seq: 3, Event: requestdb.AuditEvent{At: at(3), Action: "extended", FromStatus: "in_progress", ToStatus: "in_progress"}, Patch: requestdb.Patch{DueAt: &due}},
		}
		for _, s := range steps {
			// Each step is applied twice, as a retried activity may.
			for range 2 {
				if _, err := repo.ApplyStep(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
		}
		plain := step(1, domain.StatusInProgress, "a")
		plain.RequestID = "plain"
		if _, err := repo.ApplyStep(ctx, plain); err != nil {
			t.Fatal(err)
		}
		owed, err := repo.DRPCallbacksOf(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		for _, c := range owed {
			seqs = append(seqs, c.StepSeq)
		}
		if len(seqs) != 3 || seqs[0] != 0 || seqs[1] != 1 || seqs[2] != 3 {
			t.Fatalf("callbacks owed for steps %v, want [0 1 3]: receipt, the status change and the extension", seqs)
		}
		if none, err := repo.DRPCallbacksOf(ctx, "plain"); err != nil || len(none) != 0 {
			t.Fatalf("a request no agent opened owes %v, %v", none, err)
		}
	})
}

func TestASentCallbackCoversTheOlderOnesAndAFailedOneWaits(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		mustCreate(t, repo, "r1")
		if err := repo.CreateDRPRequest(ctx, &requestdb.DRPRequest{RequestID: "r1", AgentID: "AA", Exercise: "access", StatusCallback: "https://agent.example/cb", ReceivedAt: at(2)}); err != nil {
			t.Fatal(err)
		}
		if _, err := repo.ApplyStep(ctx, step(1, domain.StatusInProgress, "a")); err != nil {
			t.Fatal(err)
		}
		now := at(4)
		due, err := repo.DueDRPCallbacks(ctx, now, 10)
		if err != nil || len(due) != 2 {
			t.Fatalf("due %+v, %v; want 2", due, err)
		}
		if err := repo.DRPCallbackFailed(ctx, due[1].ID, now.Add(time.Minute), "the agent answered 503"); err != nil {
			t.Fatal(err)
		}
		if again, _ := repo.DueDRPCallbacks(ctx, now, 10); len(again) != 1 || again[0].ID != due[0].ID {
			t.Fatalf("due after a failure %+v; want only the older one until the retry time", again)
		}
		if err := repo.DRPCallbacksSent(ctx, "r1", due[1].ID, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if left, _ := repo.DueDRPCallbacks(ctx, now.Add(time.Hour), 10); len(left) != 0 {
			t.Fatalf("still due %+v after the newest was sent", left)
		}
	})
}

func TestADRPMessageIsTakenOnceAndATokenReplacesTheLast(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		now := at(2)
		for i, want := range []bool{true, false} {
			fresh, err := repo.RememberDRPMessage(ctx, "sig1", "AA", now.Add(10*time.Minute), now)
			if err != nil || fresh != want {
				t.Fatalf("take %d: fresh %v, %v; want %v", i+1, fresh, err, want)
			}
		}
		// Once expired, the message is forgotten; the expiry check refuses it anyway.
		if fresh, err := repo.RememberDRPMessage(ctx, "sig1", "AA", now.Add(time.Hour), now.Add(11*time.Minute)); err != nil || !fresh {
			t.Fatalf("after expiry: fresh %v, %v", fresh, err)
		}
		for _, hash := range []string{"h1", "h2"} {
			if err := repo.SaveDRPToken(ctx, "AA", hash, now); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := repo.DRPAgentOfToken(ctx, "h1"); err == nil {
			t.Error("the replaced token still works")
		}
		if id, err := repo.DRPAgentOfToken(ctx, "h2"); err != nil || id != "AA" {
			t.Errorf("token h2: %q, %v", id, err)
		}
	})
}
