package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/dsr-project/dsr/internal/bench"
)

// parkedTaskQueue is served only by the parked scenario's worker process, so the requests
// it parks are cached by that process alone and its resident memory is theirs.
func parkedTaskQueue(s *benchStack) string { return s.cfg.TaskQueue + "-parked" }

// benchChildEnv marks a process started by dsr bench. The dsr binary ignores it; the test
// binary, which stands in for dsr in the smoke test, runs the dsr command line on seeing it.
const benchChildEnv = "DSR_BENCH_CHILD"

// parkedScenario runs the parked scenario against a worker of its own process, started on
// the stack's engine and database, an API in this process that starts workflows on that
// worker's queue, and an SMTP sink that catches the worker's mail.
func parkedScenario(s *benchStack, o bench.ParkedOptions) bench.Scenario {
	inner := bench.Parked(o)
	return bench.Scenario{Name: inner.Name, Run: func(ctx context.Context, progress io.Writer) ([]bench.Figure, error) {
		sink, err := bench.StartMailSink()
		if err != nil {
			return nil, err
		}
		defer sink.Close()
		child, err := startBenchWorker(s, sink)
		if err != nil {
			return nil, err
		}
		defer child.stop()
		target, stopAPI, err := startParkedAPI(ctx, s)
		if err != nil {
			return nil, err
		}
		defer stopAPI()
		fmt.Fprintf(progress, "   worker process %d on task queue %s\n", child.cmd.Process.Pid, parkedTaskQueue(s))
		o.Target, o.ReadCode = target, sink.ReadCode
		o.WorkerRSS = func() (int64, error) { return bench.ProcessRSS(child.cmd.Process.Pid) }
		return bench.Parked(o).Run(ctx, progress)
	}}
}

// benchWorker is a `dsr worker` child process.
type benchWorker struct {
	cmd    *exec.Cmd
	exited chan error
}

func startBenchWorker(s *benchStack, sink *bench.MailSink) (*benchWorker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cfg := s.cfg
	codecKeys := "dev:" + base64.StdEncoding.EncodeToString(cfg.Secret.Derive("payload-codec"))
	cmd := exec.Command(exe, "worker", "--task-queue", parkedTaskQueue(s),
		"--database-url", cfg.DatabaseURL, "--temporal-address", s.temporalAddress, "--temporal-namespace", cfg.Temporal.Namespace,
		"--secret-key", hex.EncodeToString(cfg.Secret), "--codec-keys", codecKeys, "--public-url", cfg.PublicURL,
		"--smtp-host", sink.Host(), "--smtp-port", strconv.Itoa(sink.Port()), "--smtp-tls", "none",
		"--demo-store", "off", "--log-level", "error")
	cmd.Env = append(os.Environ(), benchChildEnv+"=1")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker process: %w", err)
	}
	w := &benchWorker{cmd: cmd, exited: make(chan error, 1)}
	go func() { w.exited <- cmd.Wait() }()
	return w, nil
}

// stop asks the worker to stop as Ctrl-C would, and kills it if it does not.
func (w *benchWorker) stop() {
	if err := w.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		w.cmd.Process.Kill()
	}
	select {
	case <-w.exited:
	case <-time.After(30 * time.Second):
		w.cmd.Process.Kill()
		<-w.exited
	}
}

// startParkedAPI serves the API on a second port, starting workflows on parkedTaskQueue;
// it answers ready once the worker process polls that queue.
func startParkedAPI(ctx context.Context, s *benchStack) (bench.Target, func(), error) {
	cfg := s.cfg
	cfg.TaskQueue = parkedTaskQueue(s)
	ln, err := listen("127.0.0.1:0")
	if err != nil {
		return bench.Target{}, nil, err
	}
	stop, err := serveBenchAPI(ctx, s.log, s.client, s.db, cfg, ln, "parked API")
	if err != nil {
		return bench.Target{}, nil, err
	}
	t := s.target
	t.BaseURL = "http://" + ln.Addr().String()
	if err := waitBenchReady(ctx, t.BaseURL); err != nil {
		stop()
		return bench.Target{}, nil, err
	}
	return t, stop, nil
}
