// Package devengine runs an embedded Temporal dev server inside the dsr process, so that
// `dsr dev` and the tests need no outside services.
package devengine

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"

	"github.com/temporalio/cli/temporalcli/devserver"
)

// Options says where the embedded server keeps its state and which ports it serves.
type Options struct {
	// DataDir holds the server's SQLite file; empty keeps everything in memory.
	DataDir string
	// IP the server and UI listen on; 127.0.0.1 when empty.
	IP string
	// Port for gRPC; 0 picks a free one.
	Port int
	// UIPort for the Web UI; 0 means no UI.
	UIPort int
	// UICodecEndpoint lets the Web UI decode payloads through dsr's codec endpoint.
	UICodecEndpoint string
	Namespace       string
	Log             *slog.Logger
	// LogLevel filters the server's own logs; it warns about routine events such as its
	// services losing each other during shutdown, so callers usually want LevelError.
	LogLevel slog.Level
}

// Server is a running embedded Temporal server.
type Server struct {
	srv     *devserver.Server
	Address string
	UIURL   string
}

// clusterID is fixed so the file keeps one identity across restarts; the server wants a UUID.
const clusterID = "5f1d7c2a-0d4e-4c55-9a0e-6f3b2d1c0a01"

// DatabaseFile is the name of the server's SQLite file inside the data directory.
const DatabaseFile = "temporal.db"

// Start boots the server and returns once its frontend accepts connections.
func Start(o Options) (*Server, error) {
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Port == 0 {
		o.Port = devserver.MustGetFreePort(o.IP)
	}
	for _, p := range []int{o.Port, o.UIPort} {
		if p == 0 {
			continue
		}
		if err := devserver.CheckPortFree(o.IP, p); err != nil {
			return nil, fmt.Errorf("embedded temporal: port %d is in use", p)
		}
	}
	opts := devserver.StartOptions{
		FrontendIP:             o.IP,
		FrontendPort:           o.Port,
		Namespaces:             []string{o.Namespace},
		ClusterID:              clusterID,
		MasterClusterName:      "active",
		CurrentClusterName:     "active",
		InitialFailoverVersion: 1,
		Logger:                 o.Log,
		LogLevel:               o.LogLevel,
		// WAL lets the history, matching and visibility services write without blocking
		// each other's readers; NORMAL sync is safe with WAL and several times faster.
		SqlitePragmas: map[string]string{"journal_mode": "wal", "synchronous": "1", "busy_timeout": "10000"},
		DynamicConfigValues: map[string]any{
			// Let new search attributes show up at once in list filters.
			"system.forceSearchAttributesCacheRefreshOnRead": true,
		},
	}
	if o.DataDir != "" {
		opts.DatabaseFile = filepath.Join(o.DataDir, DatabaseFile)
	}
	if o.UIPort != 0 {
		opts.UIIP, opts.UIPort, opts.UICodecEndpoint = o.IP, o.UIPort, o.UICodecEndpoint
	}
	srv, err := devserver.Start(opts)
	if err != nil {
		return nil, fmt.Errorf("start embedded temporal: %w", err)
	}
	s := &Server{srv: srv, Address: net.JoinHostPort(o.IP, strconv.Itoa(o.Port))}
	if o.UIPort != 0 {
		s.UIURL = "http://" + net.JoinHostPort(o.IP, strconv.Itoa(o.UIPort))
	}
	return s, nil
}

// Stop shuts the server down; its file stays for the next start.
func (s *Server) Stop() { s.srv.Stop() }
