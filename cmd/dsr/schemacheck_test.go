package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
)

// profilesMap names a column that the profiles table does not have, at line 9.
const profilesMap = `stores:
  - name: crm
    kind: sql
    connection: {driver: sqlite, dsn: crm.db}
    tables:
      - table: profiles
        identity: email
        primary_key: id
        pii: {frist_name: name}
        suppress: {columns: {frist_name: null}}
`

// writeProfilesStore writes the data map and the SQLite database it describes into a new
// directory and returns the map's path.
func writeProfilesStore(t *testing.T, dataMap string) string {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlstore.OpenDB(context.Background(), datamap.Connection{Driver: datamap.SQLite, DSN: filepath.Join(dir, "crm.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE profiles (id INTEGER PRIMARY KEY, email TEXT NOT NULL, first_name TEXT)"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "datamap.yaml")
	if err := os.WriteFile(path, []byte(dataMap), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A typo'd column used to start cleanly and fail at the first request, retried forever.
func TestWorkerRefusesADataMapColumnTheDatabaseLacks(t *testing.T) {
	s := newStack(t)
	if err := run(t.Context(), []string{"migrate", "--database-url", s.dbURL}, &syncBuffer{}, &syncBuffer{}); err != nil {
		t.Fatal(err)
	}
	path := writeProfilesStore(t, profilesMap)
	err := run(t.Context(), s.workerArgs("--data-map", path), &syncBuffer{}, &syncBuffer{})
	want := path + ":9: column `frist_name` not in table `profiles` (did you mean `first_name`?)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// In dev the demo company's stores run beside the data map's: a store of the map named
// like a demo store would be confused with it, so start-up stops.
func TestWorkerRefusesADataMapStoreNamedLikeADemoStore(t *testing.T) {
	s := newStack(t)
	if err := run(t.Context(), []string{"migrate", "--database-url", s.dbURL}, &syncBuffer{}, &syncBuffer{}); err != nil {
		t.Fatal(err)
	}
	renamed := strings.Replace(strings.Replace(profilesMap, "name: crm", "name: accounts", 1), "frist_name", "first_name", -1)
	path := writeProfilesStore(t, renamed)
	err := run(t.Context(), s.workerArgs("--data-map", path, "--demo-store", "sqlite:"+t.TempDir()), &syncBuffer{}, &syncBuffer{})
	want := path + `:2: store "accounts" has the name of a store in internal/demo/datamap.yaml`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}
