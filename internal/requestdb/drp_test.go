package requestdb_test

import (
	"context"
	"strings"
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
		if err := repo.DRPCallbackFailed(ctx, "r1", due[1].ID, now.Add(time.Minute), "the agent answered 503"); err != nil {
			t.Fatal(err)
		}
		if again, _ := repo.DueDRPCallbacks(ctx, now, 10); len(again) != 0 {
			t.Fatalf("due after a failure %+v; want none until the retry time", again)
		}
		if later, _ := repo.DueDRPCallbacks(ctx, now.Add(time.Minute), 10); len(later) != 2 || later[1].Attempts != 1 || later[1].LastError == "" {
			t.Fatalf("due at the retry time %+v; want both, with the attempt counted", later)
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

func TestAnAgentsIdentityClaimsAreSealedHandedOverOnceAndErased(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db).WithResultKeys(ring(t, "k1"))
		for _, id := range []string{"waiting", "closed"} {
			mustCreate(t, repo, id)
			link := &requestdb.DRPRequest{RequestID: id, AgentID: "AA", Exercise: "deletion", ReceivedAt: at(2),
				IdentityAnswers: map[string]string{"postal_code": "94105"}}
			if err := repo.CreateDRPRequest(ctx, link); err != nil {
				t.Fatal(err)
			}
		}
		stored, err := repo.GetDRPRequest(ctx, "waiting")
		if err != nil || stored.IdentityClaims == "" || strings.Contains(stored.IdentityClaims, "94105") {
			t.Fatalf("claims stored as %q, %v; want them sealed", stored.IdentityClaims, err)
		}
		for id, status := range map[string]domain.Status{"waiting": domain.StatusAwaitingIdentityVerification, "closed": domain.StatusCompleted} {
			s := step(1, status, "")
			s.RequestID = id
			if _, err := repo.ApplyStep(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		got, err := repo.ClaimDRPIdentities(ctx, at(3), 10)
		if err != nil || len(got) != 1 || got[0].RequestID != "waiting" || got[0].Answers["postal_code"] != "94105" {
			t.Fatalf("claimed %+v, %v; want the waiting request's postal code", got, err)
		}
		if again, _ := repo.ClaimDRPIdentities(ctx, at(3), 10); len(again) != 0 {
			t.Fatalf("claimed twice: %+v", again)
		}
		if closed, _ := repo.GetDRPRequest(ctx, "closed"); closed.IdentityClaims != "" {
			t.Error("a closed request keeps its agent's identity claims")
		}
		// A check that could not run gives them back; one that ran erases them.
		if err := repo.DRPIdentityHandedOver(ctx, "waiting", false); err != nil {
			t.Fatal(err)
		}
		if back, _ := repo.ClaimDRPIdentities(ctx, at(3), 10); len(back) != 1 {
			t.Fatalf("given back, then claimed %+v", back)
		}
		if err := repo.DRPIdentityHandedOver(ctx, "waiting", true); err != nil {
			t.Fatal(err)
		}
		if done, _ := repo.GetDRPRequest(ctx, "waiting"); done.IdentityClaims != "" || done.IdentityKeyID != "" {
			t.Errorf("claims left after the hand-over: %+v", done)
		}
	})
}
