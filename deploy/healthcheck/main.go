// Command healthcheck is the container health probe shipped in the dsr image as
// /healthcheck. The image is distroless (no shell, curl or wget), so an orchestrator that
// runs a command inside the container, such as Docker Compose, runs this:
//
//	/healthcheck http://127.0.0.1:8080/readyz
//
// It makes one GET and exits 0 on a 2xx answer and 1 otherwise, printing why to stderr
// (Docker keeps that output in `docker inspect`). Redirects are not followed and proxies
// are not used. Kubernetes needs none of this: its kubelet probes /healthz and /readyz
// itself.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run probes the URL in args and returns the exit code. Docker reserves exit code 2, so
// every failure, a usage error included, is 1.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 4*time.Second, "how long to wait for the whole answer")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: healthcheck [--timeout 4s] http://127.0.0.1:8080/readyz")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 1
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 1
	}
	if err := probe(fs.Arg(0), *timeout); err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	return 0
}

// probe GETs target and returns nil only for a 2xx answer.
func probe(target string, timeout time.Duration) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("want an http(s) URL, got %q", target)
	}
	if timeout <= 0 {
		return errors.New("timeout must be positive")
	}
	client := &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Get(u.String())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// A short excerpt of the body says what is down (/readyz names it in "down").
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		excerpt := strings.TrimSpace(string(body))
		if excerpt == "" {
			return fmt.Errorf("GET %s: %s", u.Redacted(), resp.Status)
		}
		return fmt.Errorf("GET %s: %s: %s", u.Redacted(), resp.Status, excerpt)
	}
	return nil
}
