package requestdb_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/requestdb"
)

func TestAgentPermissionIsStoredSealedAndOpensForItsRequestOnly(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := requestdb.New(db).WithResultKeys(ring(t, "k1"))
		ctx := context.Background()
		signed := []byte("%PDF-1.7 I, Ada, let Agent Ltd ask for me")
		if err := repo.SavePermission(ctx, "r1", requestdb.Permission{ContentType: "application/pdf", Data: signed}); err != nil {
			t.Fatal(err)
		}
		var raw []byte
		if err := db.Raw("SELECT sealed FROM agent_permissions WHERE request_id = ?", "r1").Row().Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("Ada")) {
			t.Fatal("the permission is stored in clear")
		}
		got, err := repo.GetPermission(ctx, "r1")
		if err != nil || got.ContentType != "application/pdf" || !bytes.Equal(got.Data, signed) {
			t.Fatalf("GetPermission = %q, %q, %v", got.ContentType, got.Data, err)
		}
		if err := db.Exec("UPDATE agent_permissions SET request_id = 'r2'").Error; err != nil {
			t.Fatal(err)
		}
		if _, err := repo.GetPermission(ctx, "r2"); err == nil {
			t.Fatal("a permission moved to another request opened")
		}
		if _, err := repo.GetPermission(ctx, "r1"); !errors.Is(err, requestdb.ErrNotFound) {
			t.Fatalf("GetPermission of a request without one = %v, want ErrNotFound", err)
		}
	})
}
