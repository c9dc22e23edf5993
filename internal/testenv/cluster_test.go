package testenv

import "testing"

// The fallback a fresh machine without a running PostgreSQL relies on must really work.
func TestThrowAwayClusterStartsAndAcceptsConnections(t *testing.T) {
	url, err := startCluster()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopCluster)
	if err := ping(url); err != nil {
		t.Fatalf("throw-away cluster does not answer: %v", err)
	}
	if _, err := ensureDatabase(url, "dsr_test"); err != nil {
		t.Fatal(err)
	}
}

// The fault suite restarts its own cluster; connections must work again afterwards.
func TestStartPostgresRestartsAndAnswersAgain(t *testing.T) {
	pg := StartPostgres(t)
	if err := ping(pg.URL); err != nil {
		t.Fatalf("cluster does not answer: %v", err)
	}
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := ping(pg.URL); err != nil {
		t.Fatalf("cluster does not answer after a restart: %v\n%s", err, pg.LogTail(20))
	}
}
