package tlog_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/tlog"
)

// witness runs a witness of log over HTTP, keeping its state in dir, and returns it with
// its URL and signer key.
func witness(t *testing.T, log *tlog.Log, name, dir string) (*tlog.Witness, string, string) {
	t.Helper()
	skey, err := tlog.NewWitnessKey(name)
	if err != nil {
		t.Fatal(err)
	}
	w, err := tlog.NewWitness(skey, log.VerifierKey(), filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	return w, srv.URL, skey
}

func withWitnesses(t *testing.T, log *tlog.Log, ws ...tlog.WitnessEndpoint) *tlog.Log {
	t.Helper()
	out, err := log.WithWitnesses(ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func appendRequests(t *testing.T, db *database.DB, log *tlog.Log, prefix string, n int) {
	t.Helper()
	for i := range n {
		appendStep(t, db, log, fmt.Sprintf("%s-%d", prefix, i), tlog.Received)
	}
}

// The log pushes each new checkpoint to its witness with a consistency proof from the one
// the witness cosigned last, and serves it with the cosignature; a process that does not
// know the witness's size learns it from the 409 answer.
func TestAWitnessCosignsEachCheckpointThatExtendsTheLast(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB, plain *tlog.Log) {
		ctx := context.Background()
		w, url, _ := witness(t, plain, "witness.test/w1", t.TempDir())
		log := withWitnesses(t, plain, tlog.WitnessEndpoint{VerifierKey: w.VerifierKey(), URL: url})
		wantCosigned := func(size uint64) {
			t.Helper()
			signed, err := log.Checkpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			cp, err := tlog.OpenCheckpoint(signed, log.VerifierKey())
			if err != nil {
				t.Fatal(err)
			}
			cosigs, err := tlog.CheckCosignatures(signed, log.VerifierKey(), []string{w.VerifierKey()})
			if err != nil || cp.Size != size {
				t.Fatalf("served checkpoint of %d entries, cosignatures %v (%v); want %d cosigned", cp.Size, cosigs, err, size)
			}
			if len(cosigs) != 1 || cosigs[0].Witness != "witness.test/w1" || time.Since(cosigs[0].At) > time.Minute {
				t.Fatalf("cosignatures %+v", cosigs)
			}
		}

		appendRequests(t, db, log, "a", 3)
		if err := log.CollectCosignatures(ctx); err != nil {
			t.Fatal(err)
		}
		wantCosigned(3)
		// Entries appended since are in the log, but the served checkpoint is the cosigned one.
		appendRequests(t, db, log, "b", 4)
		wantCosigned(3)
		if err := log.CollectCosignatures(ctx); err != nil {
			t.Fatal(err)
		}
		wantCosigned(7)

		// Another process (or this one restarted) starts from old size 0.
		appendRequests(t, db, log, "c", 2)
		other := withWitnesses(t, plain, tlog.WitnessEndpoint{VerifierKey: w.VerifierKey(), URL: url})
		if err := other.CollectCosignatures(ctx); err != nil {
			t.Fatal(err)
		}
		wantCosigned(9)

		// Monitors can read what the witness cosigned from the witness itself.
		origin := sha256.Sum256([]byte("dsr.test/log"))
		res, err := http.Get(url + "/" + hex.EncodeToString(origin[:]) + "/checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		held, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := tlog.OpenCheckpoint(held, log.VerifierKey())
		if err != nil || cp.Size != 9 {
			t.Fatalf("the witness's checkpoint: %d entries, %v; want 9", cp.Size, err)
		}
		if _, err := tlog.CheckCosignatures(held, log.VerifierKey(), []string{w.VerifierKey()}); err != nil {
			t.Errorf("the witness's checkpoint: %v", err)
		}
	})
}

// A log rewritten behind the witness's back (an entry altered in the database) can no
// longer get a cosignature: the witness refuses, even after a restart from its state file,
// and the log keeps serving the last checkpoint it did cosign.
func TestAWitnessRefusesACheckpointOfARewrittenLog(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB, plain *tlog.Log) {
		ctx := context.Background()
		dir := t.TempDir()
		w, url, skey := witness(t, plain, "witness.test/w1", dir)
		log := withWitnesses(t, plain, tlog.WitnessEndpoint{VerifierKey: w.VerifierKey(), URL: url})
		appendRequests(t, db, log, "a", 5)
		if err := log.CollectCosignatures(ctx); err != nil {
			t.Fatal(err)
		}
		before := checkpoint(t, log)

		if db.Kind == config.Postgres {
			mustExec(t, db, "ALTER TABLE tlog_entries DISABLE TRIGGER tlog_entries_append_only")
		} else {
			mustExec(t, db, "DROP TRIGGER tlog_entries_no_update")
		}
		es, err := log.Entries(ctx, 2, 3)
		if err != nil {
			t.Fatal(err)
		}
		altered := es[0]
		altered.At = altered.At.Add(-72 * time.Hour)
		leaf, err := altered.LeafHash()
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, db, "UPDATE tlog_entries SET at = ?, leaf_hash = ? WHERE idx = 2", altered.At, hex.EncodeToString(leaf))
		appendRequests(t, db, log, "b", 2)

		err = log.CollectCosignatures(ctx)
		if err == nil || !strings.Contains(err.Error(), "refused the checkpoint of 7 entries: 422") {
			t.Fatalf("err = %v, want the witness's 422 refusal", err)
		}
		// The witness, restarted from its state, still holds the log to what it cosigned.
		skeyless, err := tlog.NewWitness(skey, plain.VerifierKey(), filepath.Join(dir, "state"))
		if err != nil {
			t.Fatal(err)
		}
		restarted := httptest.NewServer(skeyless.Handler())
		defer restarted.Close()
		again := withWitnesses(t, plain, tlog.WitnessEndpoint{VerifierKey: w.VerifierKey(), URL: restarted.URL})
		if err := again.CollectCosignatures(ctx); err == nil || !strings.Contains(err.Error(), "422") {
			t.Fatalf("restarted witness: err = %v, want a 422 refusal", err)
		}
		if after := checkpoint(t, log); after.Size != before.Size {
			t.Errorf("the log serves a checkpoint of %d entries, want the last cosigned one of %d", after.Size, before.Size)
		}
	})
}

// A witness that is down never holds the log up: the others cosign, appends go on, and
// the failure names the witness.
func TestADownWitnessDoesNotStopTheOthers(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB, plain *tlog.Log) {
		ctx := context.Background()
		up, upURL, _ := witness(t, plain, "witness.test/up", t.TempDir())
		down, downURL, _ := witness(t, plain, "witness.test/down", t.TempDir())
		gone := httptest.NewServer(down.Handler())
		gone.Close()
		downURL = gone.URL
		log := withWitnesses(t, plain, tlog.WitnessEndpoint{VerifierKey: up.VerifierKey(), URL: upURL},
			tlog.WitnessEndpoint{VerifierKey: down.VerifierKey(), URL: downURL})
		appendRequests(t, db, log, "a", 3)
		err := log.CollectCosignatures(ctx)
		if err == nil || !strings.Contains(err.Error(), "witness.test/down") || strings.Contains(err.Error(), "witness.test/up") {
			t.Fatalf("err = %v, want only the down witness named", err)
		}
		signed, err := log.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tlog.CheckCosignatures(signed, log.VerifierKey(), []string{up.VerifierKey()}); err != nil {
			t.Errorf("the witness that is up: %v", err)
		}
		if _, err := tlog.CheckCosignatures(signed, log.VerifierKey(), []string{down.VerifierKey()}); err == nil {
			t.Error("a cosignature of the down witness was found")
		}
		appendRequests(t, db, log, "b", 1)
	})
}

// The witness answers as C2SP tlog-witness says for each kind of bad submission.
func TestTheWitnessAnswersBadSubmissionsAsTheProtocolSays(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB, log *tlog.Log) {
		ctx := context.Background()
		_, url, _ := witness(t, log, "witness.test/w1", t.TempDir())
		appendRequests(t, db, log, "a", 4)
		signed, err := log.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		other := withOtherKey(t, db)
		otherSigned, err := other.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		post := func(body string) (int, string, string) {
			t.Helper()
			res, err := http.Post(url+"/add-checkpoint", "text/plain", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			return res.StatusCode, string(b), res.Header.Get("Content-Type")
		}
		unknownOrigin := strings.Replace(string(otherSigned), "dsr.test/log", "elsewhere.test/log", 1)
		for _, tc := range []struct {
			name string
			body string
			want int
		}{
			{"no empty line", "old 0\n" + string(signed), http.StatusBadRequest},
			{"unknown origin", "old 0\n\n" + unknownOrigin, http.StatusNotFound},
			{"signed by another key", "old 0\n\n" + string(otherSigned), http.StatusForbidden},
			{"old size larger than the checkpoint", "old 9\n\n" + string(signed), http.StatusBadRequest},
			{"a proof from an empty tree", "old 0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n" + string(signed), http.StatusUnprocessableEntity},
		} {
			if got, body, _ := post(tc.body); got != tc.want {
				t.Errorf("%s: %d %q, want %d", tc.name, got, body, tc.want)
			}
		}
		if got, body, _ := post("old 0\n\n" + string(signed)); got != http.StatusOK || !strings.HasPrefix(body, "— witness.test/w1 ") {
			t.Fatalf("first submission: %d %q", got, body)
		}
		if got, body, ctype := post("old 0\n\n" + string(signed)); got != http.StatusConflict || body != "4\n" || ctype != "text/x.tlog.size" {
			t.Errorf("stale old size: %d %q %s, want 409 with the size 4", got, body, ctype)
		}
		// The same size again needs the same root: an empty proof and equal roots pass.
		if got, body, _ := post("old 4\n\n" + string(signed)); got != http.StatusOK {
			t.Errorf("the same checkpoint again: %d %q", got, body)
		}
	})
}

// withOtherKey is a log of the same origin signed by another key.
func withOtherKey(t *testing.T, db *database.DB) *tlog.Log {
	t.Helper()
	other, err := tlog.New(db, []byte("another secret of thirty-two b.."), "dsr.test/log")
	if err != nil {
		t.Fatal(err)
	}
	return other
}

func mustExec(t *testing.T, db *database.DB, sql string, args ...any) {
	t.Helper()
	if err := db.Exec(sql, args...).Error; err != nil {
		t.Fatal(err)
	}
}

// Every key NewWitnessKey makes loads back, whatever characters its base64 holds (a "+"
// among them), under the witness's name.
func TestWitnessKeysLoadBack(t *testing.T) {
	logKey, err := tlog.VerifierKey([]byte("0123456789abcdef0123456789abcdef"), "dsr.test/log")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 64 {
		skey, err := tlog.NewWitnessKey("witness.test/w1")
		if err != nil {
			t.Fatal(err)
		}
		w, err := tlog.NewWitness(skey, logKey, filepath.Join(t.TempDir(), "state"))
		if err != nil {
			t.Fatalf("key %d (%s…): %v", i, skey[:20], err)
		}
		if !strings.HasPrefix(w.VerifierKey(), "witness.test/w1+") {
			t.Fatalf("verifier key %q", w.VerifierKey())
		}
	}
}
