package main

import (
	"context"
	"encoding/base64"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
	"github.com/dsr-project/dsr/internal/tlog"
)

// startWitness runs `dsr log witness` for the log in-process, serving on a free port, and
// returns its verifier key and URL as it prints them.
func startWitness(t *testing.T, logKey, name string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	p := start(t, "log", "witness", "--key-file", filepath.Join(dir, "witness.key"), "--name", name,
		"--state-file", filepath.Join(dir, "state"), "--log-key", logKey, "--listen", "127.0.0.1:0")
	printed := regexp.MustCompile(`witness key: (\S+)\nwitness listening on (\S+)\n`)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := printed.FindStringSubmatch(p.out.String()); m != nil {
			return m[1], m[2]
		}
	}
	t.Fatalf("the witness printed no key and address:\n%s", p.out)
	return "", ""
}

// A log whose checkpoints a `dsr log witness` cosigns passes `dsr log verify
// --witness-key`; the check fails for a witness that did not cosign and for a cosignature
// changed in the log's database.
func TestLogVerifyChecksTheWitnessesCosignatures(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.PostgresURL(t))
	secret := keys.Secret([]byte("0123456789abcdef0123456789abcdef"))
	plain, err := tlog.New(db, secret, "dsr.test/log")
	if err != nil {
		t.Fatal(err)
	}
	witnessKey, witnessURL := startWitness(t, plain.VerifierKey(), "witness.test/w1")
	idleKey, _ := startWitness(t, plain.VerifierKey(), "witness.test/idle")
	log, err := plain.WithWitnesses([]tlog.WitnessEndpoint{{VerifierKey: witnessKey, URL: witnessURL}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Options{Requests: requestdb.New(db), Secret: secret, TransparencyLog: log}).Handler())
	defer srv.Close()
	verify := func(witnessKeys ...string) (string, error) {
		args := []string{"log", "verify", "--url", srv.URL, "--public-key", log.VerifierKey()}
		for _, k := range witnessKeys {
			args = append(args, "--witness-key", k)
		}
		var out syncBuffer
		err := run(context.Background(), args, &out, &out)
		return out.String(), err
	}

	appendMilestones(t, db, log, "a", "b", "c")
	if err := log.CollectCosignatures(context.Background()); err != nil {
		t.Fatal(err)
	}
	out, err := verify(witnessKey)
	if err != nil || !strings.Contains(out, "has 3 entries") || !strings.Contains(out, "cosigned by witness witness.test/w1 at ") {
		t.Fatalf("cosigned log: err = %v, output %q", err, out)
	}
	if _, err := verify(witnessKey, idleKey); err == nil || !strings.Contains(err.Error(), "no cosignature by witness witness.test/idle") {
		t.Errorf("a witness that did not cosign: err = %v", err)
	}

	// Someone with the database changes a byte of the stored cosignature.
	var line string
	if err := db.Raw("SELECT signature FROM tlog_cosignatures WHERE tree_size = 3").Scan(&line).Error; err != nil {
		t.Fatal(err)
	}
	prefix, sig, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "witness.test/w1 ")
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 1
	mustExec(t, db, "UPDATE tlog_cosignatures SET signature = ? WHERE tree_size = 3",
		prefix+"witness.test/w1 "+base64.StdEncoding.EncodeToString(raw)+"\n")
	if _, err := verify(witnessKey); err == nil || !strings.Contains(err.Error(), "invalid signature") {
		t.Errorf("a tampered cosignature: err = %v, want it named invalid", err)
	}
	// Without witness keys the log's own signature still verifies.
	if out, err := verify(); err != nil {
		t.Errorf("no witness asked for: err = %v, output %q", err, out)
	}
}
