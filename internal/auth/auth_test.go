package auth_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// onEveryEngine runs test against a fresh, migrated PostgreSQL schema and SQLite file.
func onEveryEngine(t *testing.T, test func(t *testing.T, repo *auth.Repo, db *database.DB)) {
	for _, target := range testenv.Databases(t) {
		t.Run(target.Name, func(t *testing.T) {
			db := testenv.OpenMigrated(t, target.URL)
			test(t, auth.New(db), db)
		})
	}
}

func mustCreate(t *testing.T, repo *auth.Repo, name string, role auth.Role) (string, auth.Token) {
	t.Helper()
	secret, tok, err := repo.Create(context.Background(), name, role)
	if err != nil {
		t.Fatal(err)
	}
	return secret, tok
}

func TestCreatedTokenAuthenticatesAsItsHolder(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, repo *auth.Repo, _ *database.DB) {
		secret, created := mustCreate(t, repo, "alice", auth.RoleAnalyst)
		got, err := repo.Authenticate(context.Background(), secret)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, created) {
			t.Errorf("got  %+v\nwant %+v", got, created)
		}
		if got.Name != "alice" || got.Role != auth.RoleAnalyst {
			t.Errorf("holder = %s/%s, want alice/analyst", got.Name, got.Role)
		}
	})
}

func TestTokenIsStoredOnlyAsItsHash(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, repo *auth.Repo, db *database.DB) {
		secret, _ := mustCreate(t, repo, "alice", auth.RoleAdmin)
		var hashes []string
		if err := db.Table("api_tokens").Pluck("token_hash", &hashes).Error; err != nil {
			t.Fatal(err)
		}
		if len(hashes) != 1 || hashes[0] != keys.HashToken(secret) {
			t.Errorf("stored %v, want only the hash of the token", hashes)
		}
		var hits int64
		if err := db.Table("api_tokens").Where("token_hash = ? OR name = ?", secret, secret).Count(&hits).Error; err != nil {
			t.Fatal(err)
		}
		if hits != 0 {
			t.Error("the token itself is stored")
		}
	})
}

func TestUnknownOrEmptyTokenIsUnauthorized(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, repo *auth.Repo, _ *database.DB) {
		secret, _ := mustCreate(t, repo, "alice", auth.RoleAdmin)
		for _, tok := range []string{"", "nonsense", secret + "x", strings.ToUpper(secret)} {
			if _, err := repo.Authenticate(context.Background(), tok); !errors.Is(err, auth.ErrUnauthorized) {
				t.Errorf("Authenticate(%q) err = %v, want ErrUnauthorized", tok, err)
			}
		}
	})
}

func TestRevokedTokenIsUnauthorizedAndListedAsRevoked(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, repo *auth.Repo, _ *database.DB) {
		ctx := context.Background()
		secret, tok := mustCreate(t, repo, "alice", auth.RoleAuditor)
		keep, _ := mustCreate(t, repo, "bob", auth.RoleAnalyst)
		for range 2 {
			if err := repo.Revoke(ctx, tok.ID); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := repo.Authenticate(ctx, secret); !errors.Is(err, auth.ErrUnauthorized) {
			t.Errorf("revoked token: err = %v, want ErrUnauthorized", err)
		}
		if _, err := repo.Authenticate(ctx, keep); err != nil {
			t.Errorf("another token stopped working: %v", err)
		}
		list, err := repo.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Name != "alice" || !list[0].Revoked() || list[1].Revoked() {
			t.Errorf("list = %+v, want alice revoked, then bob live", list)
		}
	})
}

func TestRevokeReportsAnUnknownToken(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, repo *auth.Repo, _ *database.DB) {
		for _, id := range []string{"0b6f0d36-8f7a-4a8e-9d0c-1b2a3c4d5e6f", "not-a-uuid"} {
			if err := repo.Revoke(context.Background(), id); !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("Revoke(%q) err = %v, want ErrNotFound", id, err)
			}
		}
	})
}

func TestCreateRefusesABadNameOrRole(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, repo *auth.Repo, _ *database.DB) {
		for _, c := range []struct {
			name string
			role auth.Role
		}{{"", auth.RoleAdmin}, {"   ", auth.RoleAdmin}, {strings.Repeat("n", auth.MaxNameLength+1), auth.RoleAdmin}, {"alice", "root"}} {
			if _, _, err := repo.Create(context.Background(), c.name, c.role); !errors.Is(err, auth.ErrInvalid) {
				t.Errorf("Create(%q, %q) err = %v, want ErrInvalid", c.name, c.role, err)
			}
		}
		if list, err := repo.List(context.Background()); err != nil || len(list) != 0 {
			t.Errorf("list = %v, %v; want no tokens stored", list, err)
		}
	})
}

func TestParseRoleKnowsTheThreeRoles(t *testing.T) {
	for _, s := range []string{"analyst", "admin", "auditor"} {
		if r, err := auth.ParseRole(s); err != nil || r.String() != s {
			t.Errorf("ParseRole(%q) = %q, %v", s, r, err)
		}
	}
	for _, s := range []string{"Admin", "requester", "system"} {
		if _, err := auth.ParseRole(s); !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("ParseRole(%s) err = %v, want ErrInvalid: no token holds it", s, err)
		}
	}
	if auth.RoleAuditor.Staff() || !auth.RoleAnalyst.Staff() || !auth.RoleAdmin.Staff() {
		t.Error("only analysts and admins are staff")
	}
}
