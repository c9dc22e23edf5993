package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/keys"
)

// signedIn is when the sessions in these tests open, with digits below a microsecond.
var signedIn = time.Date(2026, 3, 2, 9, 30, 15, 123456789, time.FixedZone("CET", 3600))

func TestSessionSignsInAsItsTokenUntilItExpires(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, repo *auth.Repo, db *database.DB) {
		ctx, sessions := context.Background(), auth.NewSessions(db)
		_, tok := mustCreate(t, repo, "carol", auth.RoleAnalyst)
		id, s, err := sessions.Create(ctx, tok.ID, signedIn, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		want := signedIn.UTC().Truncate(time.Microsecond)
		if s.TokenID != tok.ID || !s.CreatedAt.Equal(want) || !s.ExpiresAt.Equal(want.Add(time.Hour)) || s.IDHash != keys.HashToken(id) {
			t.Errorf("session = %+v, want carol's token from %v for an hour under the hash of its ID", s, want)
		}
		got, err := sessions.Token(ctx, id, signedIn.Add(time.Hour-time.Microsecond))
		if err != nil {
			t.Fatal(err)
		}
		if got != tok {
			t.Errorf("token = %+v, want %+v", got, tok)
		}
		for _, c := range []struct {
			name string
			id   string
			at   time.Time
		}{
			{"expired", id, signedIn.Add(time.Hour)},
			{"unknown", id + "x", signedIn},
			{"by its hash", s.IDHash, signedIn},
			{"empty", "", signedIn},
		} {
			if _, err := sessions.Token(ctx, c.id, c.at); !errors.Is(err, auth.ErrUnauthorized) {
				t.Errorf("%s session: err = %v, want ErrUnauthorized", c.name, err)
			}
		}
	})
}

func TestSessionIsStoredOnlyAsItsHash(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, repo *auth.Repo, db *database.DB) {
		_, tok := mustCreate(t, repo, "carol", auth.RoleAnalyst)
		id, _, err := auth.NewSessions(db).Create(context.Background(), tok.ID, signedIn, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var hashes []string
		if err := db.Table("dashboard_sessions").Pluck("id_hash", &hashes).Error; err != nil {
			t.Fatal(err)
		}
		if len(hashes) != 1 || hashes[0] != keys.HashToken(id) {
			t.Errorf("stored %v, want only the hash of the session ID", hashes)
		}
	})
}

func TestDeletedSessionSignsNoOneIn(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, repo *auth.Repo, db *database.DB) {
		ctx, sessions := context.Background(), auth.NewSessions(db)
		_, tok := mustCreate(t, repo, "carol", auth.RoleAnalyst)
		id, _, err := sessions.Create(ctx, tok.ID, signedIn, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := sessions.Create(ctx, tok.ID, signedIn, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // ending an ended session is no error
			if err := sessions.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := sessions.Token(ctx, id, signedIn); !errors.Is(err, auth.ErrUnauthorized) {
			t.Errorf("deleted session: err = %v, want ErrUnauthorized", err)
		}
		if _, err := sessions.Token(ctx, other, signedIn); err != nil {
			t.Errorf("another session of the token ended too: %v", err)
		}
	})
}

func TestPurgeDeletesExpiredSessionsAndThoseOfRevokedTokens(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, repo *auth.Repo, db *database.DB) {
		ctx, sessions := context.Background(), auth.NewSessions(db)
		_, live := mustCreate(t, repo, "carol", auth.RoleAnalyst)
		_, revoked := mustCreate(t, repo, "dana", auth.RoleAdmin)
		open := func(tokenID string, life time.Duration) string {
			t.Helper()
			id, _, err := sessions.Create(ctx, tokenID, signedIn, life)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		keep := open(live.ID, 2*time.Hour)
		open(live.ID, time.Hour)      // expired by the purge
		open(revoked.ID, 2*time.Hour) // its token is revoked
		if err := repo.Revoke(ctx, revoked.ID); err != nil {
			t.Fatal(err)
		}
		n, err := sessions.Purge(ctx, signedIn.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var hashes []string
		if err := db.Table("dashboard_sessions").Pluck("id_hash", &hashes).Error; err != nil {
			t.Fatal(err)
		}
		if n != 2 || len(hashes) != 1 || hashes[0] != keys.HashToken(keep) {
			t.Errorf("purged %d, left %v; want 2 purged and only the live session left", n, hashes)
		}
	})
}
