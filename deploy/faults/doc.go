// Package faults proves that dsr keeps its promises on the production shape while the
// things around it fail. Its tests start a throw-away PostgreSQL cluster from the local
// binaries and, on it, deploy/local-cluster.sh's cluster (a Temporal server, 2 workers, 2
// APIs and an SMTP sink) with two SQL stores whose rows count their own updates. A steady,
// small load of every request type runs end to end through both APIs (codes read from the
// sink's mail files, identity answered, reviews approved by staff) while faults are
// injected one at a time: kill -9 of a worker, of an API in the middle of an intake and of
// the Temporal server; a PostgreSQL restart; the SMTP sink down; a store unreachable and a
// store slow. After each, once the cluster has recovered, it checks that every intake
// answered 202 reached a terminal or waiting status, that every store change was applied
// exactly once, that every mail went out exactly once, that the audit chain verifies and
// that no request is stuck without a reason staff can see.
//
// The short run (each fault once, outages of seconds) is part of `go test ./...`; the long
// run injects faults at random for a bounded time and prints a summary table:
//
//	DSR_FAULTS_LONG=10m go test -count=1 -timeout 0 -run TestFaultsLongRun -v ./deploy/faults/
package faults
