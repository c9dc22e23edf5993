package requestdb_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// ring returns a key ring of the given IDs, the first current; each ID has its own key.
func ring(t *testing.T, ids ...string) *codec.Keyring {
	t.Helper()
	var spec []string
	for _, id := range ids {
		key := sha256.Sum256([]byte(id))
		spec = append(spec, id+":"+base64.StdEncoding.EncodeToString(key[:]))
	}
	r, err := codec.ParseKeyring(strings.Join(spec, ","))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestStoreResultIsReplacedByARerun(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := requestdb.New(db).WithResultKeys(ring(t, "k1"))
		mustCreate(t, repo, "r1")
		ctx := context.Background()
		first := connector.Result{Store: "crm", Found: []string{"name"}, Export: map[string]any{"name": "A"}}
		if err := repo.SaveStoreResult(ctx, "r1", "crm", first); err != nil {
			t.Fatal(err)
		}
		rerun := connector.Result{Store: "crm", Found: []string{"name", "phone"}}
		if err := repo.SaveStoreResult(ctx, "r1", "crm", rerun); err != nil {
			t.Fatal(err)
		}
		got, err := repo.StoreResults(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || len(got[0].Found) != 2 || got[0].Export != nil {
			t.Errorf("results = %+v, want only the rerun's", got)
		}
	})
}

// rawResult is the result column as the database holds it.
func rawResult(t *testing.T, db *database.DB, requestID, store string) (result, keyID string) {
	t.Helper()
	row := db.Raw("SELECT result, key_id FROM store_results WHERE request_id = ? AND store = ?", requestID, store).Row()
	if err := row.Scan(&result, &keyID); err != nil {
		t.Fatal(err)
	}
	return result, keyID
}

func TestStoreResultsAreSealedAtRestAndOpenAfterKeyRotation(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		old := requestdb.New(db).WithResultKeys(ring(t, "k1"))
		mustCreate(t, old, "r1")
		res := connector.Result{Store: "crm", Found: []string{"name"}, Export: map[string]any{"name": "Ada Lovelace"},
			Before: []connector.PriorValue{{Table: "customers", Field: "phone", Value: "+44 1"}}}
		if err := old.SaveStoreResult(ctx, "r1", "crm", res); err != nil {
			t.Fatal(err)
		}
		stored, keyID := rawResult(t, db, "r1", "crm")
		if keyID != "k1" || strings.Contains(stored, "Ada Lovelace") || strings.Contains(stored, "+44 1") || strings.Contains(stored, `"export"`) {
			t.Fatalf("stored row = %q under key %q, want ciphertext under k1", stored, keyID)
		}
		// k2 now encrypts; k1 still opens what it sealed.
		rotated := requestdb.New(db).WithResultKeys(ring(t, "k2", "k1"))
		got, err := rotated.StoreResults(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Export["name"] != "Ada Lovelace" || len(got[0].Before) != 1 || got[0].Before[0].Value != "+44 1" {
			t.Errorf("opened = %+v", got)
		}
		if _, err := requestdb.New(db).WithResultKeys(ring(t, "k9")).StoreResults(ctx, "r1"); err == nil {
			t.Error("a ring without k1 opened the result")
		}
	})
}

func TestASealedResultDoesNotOpenOnAnotherRow(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		repo := requestdb.New(db).WithResultKeys(ring(t, "k1"))
		mustCreate(t, repo, "r1")
		mustCreate(t, repo, "r2")
		if err := repo.SaveStoreResult(ctx, "r1", "crm", connector.Result{Store: "crm", Found: []string{"name"}}); err != nil {
			t.Fatal(err)
		}
		stored, _ := rawResult(t, db, "r1", "crm")
		err := db.Exec("INSERT INTO store_results (request_id, store, result, key_id, recorded_at) VALUES (?, ?, ?, ?, ?)",
			"r2", "crm", stored, "k1", time.Now().UTC()).Error
		if err != nil {
			t.Fatal(err)
		}
		if _, err := repo.StoreResults(ctx, "r2"); err == nil {
			t.Error("a result copied to another request opened")
		}
	})
}

func TestStoreResultsAreNeverSavedInClear(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := requestdb.New(db)
		mustCreate(t, repo, "r1")
		err := repo.SaveStoreResult(context.Background(), "r1", "crm", connector.Result{Store: "crm"})
		if !errors.Is(err, requestdb.ErrNoResultKeys) {
			t.Errorf("save without keys = %v, want ErrNoResultKeys", err)
		}
	})
}

func TestResultsWrittenInClearStayReadableAndGetSealed(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		repo := requestdb.New(db).WithResultKeys(ring(t, "k1"))
		mustCreate(t, repo, "r1")
		err := db.Exec("INSERT INTO store_results (request_id, store, result, recorded_at) VALUES (?, ?, ?, ?)",
			"r1", "shop", `{"store":"shop","found":["orders"],"export":{"email":"old@example.com"}}`, time.Now().UTC()).Error
		if err != nil {
			t.Fatal(err)
		}
		got, err := repo.StoreResults(ctx, "r1")
		if err != nil || len(got) != 1 || got[0].Export["email"] != "old@example.com" {
			t.Fatalf("legacy row read = %+v, %v", got, err)
		}
		n, err := repo.SealStoreResults(ctx)
		if err != nil || n != 1 {
			t.Fatalf("sealed %d, %v; want 1", n, err)
		}
		if stored, keyID := rawResult(t, db, "r1", "shop"); keyID != "k1" || strings.Contains(stored, "example.com") {
			t.Errorf("after sealing the row is %q under %q", stored, keyID)
		}
		if n, err := repo.SealStoreResults(ctx); err != nil || n != 0 {
			t.Errorf("second pass sealed %d, %v; want 0", n, err)
		}
		if got, err := repo.StoreResults(ctx, "r1"); err != nil || got[0].Export["email"] != "old@example.com" {
			t.Errorf("sealed legacy row read = %+v, %v", got, err)
		}
	})
}

func TestARecipientNoticeIsRecordedOnce(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		repo := requestdb.New(db)
		mustCreate(t, repo, "r1")
		if rec, err := repo.RecipientNotice(ctx, "r1", "Affiliate AS"); err != nil || rec != nil {
			t.Fatalf("before sending: %+v, %v", rec, err)
		}
		first := requestdb.RecipientNoticeRecord{RequestID: "r1", Recipient: "Affiliate AS", Channel: "webhook", Status: "acknowledged", Answer: "HTTP 200", SentAt: at(2)}
		if err := repo.RecordRecipientNotice(ctx, first); err != nil {
			t.Fatal(err)
		}
		again := first
		again.Answer = "HTTP 500"
		if err := repo.RecordRecipientNotice(ctx, again); err != nil {
			t.Fatal(err)
		}
		rec, err := repo.RecipientNotice(ctx, "r1", "Affiliate AS")
		if err != nil || rec == nil || rec.Answer != "HTTP 200" || !rec.SentAt.Equal(kept(at(2))) {
			t.Errorf("recorded = %+v, %v; want the first answer", rec, err)
		}
		all, err := repo.RecipientNotices(ctx, "r1")
		if err != nil || len(all) != 1 {
			t.Errorf("notices = %+v, %v", all, err)
		}
	})
}
