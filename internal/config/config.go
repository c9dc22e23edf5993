// Package config reads dsr's settings from environment variables and command-line flags.
//
// Every setting has one environment variable and one flag; a flag given on the command line
// wins over the variable, which wins over the default. Values are checked before anything
// starts, and a bad value stops start-up with one line naming the variable.
package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	fnote "github.com/transparency-dev/formats/note"

	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/i18n"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/mail"
)

// Mode is the subcommand a process runs; each uses a subset of the settings.
type Mode string

const (
	ModeDev     Mode = "dev"
	ModeAPI     Mode = "api"
	ModeWorker  Mode = "worker"
	ModeMigrate Mode = "migrate"
)

// Config holds every setting after validation.
type Config struct {
	Mode            Mode
	HTTPAddr        string
	DataDir         string
	TemporalPort    int
	UIPort          int
	DatabaseURL     string
	Temporal        Temporal
	TaskQueue       string
	LogFormat       string
	LogLevel        slog.Level
	ShutdownTimeout time.Duration
	// WorkerCacheSize caps the workflows a worker keeps cached: requests parked for days
	// waiting for a code would otherwise hold memory each (about 78 KB apiece).
	WorkerCacheSize int
	// ReadyNeedsWorker makes an api's /readyz fail while no worker polls.
	ReadyNeedsWorker bool
	// MetricsAddr is where Prometheus scrapes /metrics; empty when turned off.
	// MetricsAddrDefault says it was not chosen, so a taken port only warns.
	MetricsAddr        string
	MetricsAddrDefault bool

	// Secret keys address hashes and one-time codes; every process of a deployment shares it.
	Secret    keys.Secret
	PublicURL string
	// LogWitnesses cosign the transparency log's checkpoints; none when empty.
	LogWitnesses []LogWitness
	// Organization, PrivacyPolicyURL, LogoFile and AccentColor brand the public pages and
	// the mail to requesters.
	Organization     string
	PrivacyPolicyURL string
	LogoFile         string
	AccentColor      string
	// NoticeTemplates is a directory of the organisation's own notice templates, each
	// checked at start; empty means the built-in ones.
	NoticeTemplates string
	TeamEmail       string
	SMTP            mail.SMTPConfig
	Identity        domain.IdentityPolicy
	CodeLife        time.Duration
	// ReportLinkTTL is how long the report link of a review's completion mail works.
	ReportLinkTTL time.Duration
	Deadline      domain.DeadlinePolicy
	// Jurisdictions is the table of each law's limits: the built-in one with the entries of
	// DSR_JURISDICTIONS in place of its own.
	Jurisdictions *domain.Jurisdictions
	// DemoStore is where the demo company's databases live (see demo.ParseTarget), or empty for none.
	DemoStore string
	// DataMap is the path of the data map describing the company's stores.
	DataMap string
	// CodecOrigins are the Temporal Web UI origins allowed to call the codec endpoint.
	CodecOrigins []string
	// TemporalUIURL is the Temporal Web UI staff pages link to.
	TemporalUIURL string
	// TrustedProxies may set X-Forwarded-For and X-Forwarded-Proto.
	TrustedProxies []netip.Prefix
	// Codec encrypts every payload sent to Temporal; nil only in dev before its default.
	Codec *codec.Keyring
	// SigningKey signs evidence bundles; nil when unset, and then derived from Secret (see
	// audit.SigningKey).
	SigningKey ed25519.PrivateKey
	// DRP configures the Data Rights Protocol; off while DRP.Agents is empty.
	DRP DRP
}

// DRP says who may send requests by the Data Rights Protocol and who dsr is to them.
type DRP struct {
	// Agents is the path of the agent directory (agents.json).
	Agents     string
	BusinessID string
	Contact    string
}

// LogWitness is a witness of the transparency log: its verifier key and the URL prefix
// of its add-checkpoint endpoint (C2SP tlog-witness).
type LogWitness struct {
	VerifierKey string
	URL         string
}

// Temporal says how to reach the Temporal frontend in production.
type Temporal struct {
	Address       string
	Namespace     string
	TLSCert       string
	TLSKey        string
	TLSCA         string
	TLSServerName string
	APIKey        string
}

// Setting documents one configuration value; the README's reference table is checked against
// this list by a test.
type Setting struct {
	Env     string
	Flag    string
	Default string
	Help    string
	Modes   []Mode
	// Secret values are never echoed back in errors or help.
	Secret bool
	apply  func(c *Config, v string) error
}

var (
	allModes      = []Mode{ModeDev, ModeAPI, ModeWorker, ModeMigrate}
	serverModes   = []Mode{ModeDev, ModeAPI, ModeWorker}
	clusterModes  = []Mode{ModeAPI, ModeWorker}
	httpModes     = []Mode{ModeDev, ModeAPI}
	devOnly       = []Mode{ModeDev}
	databaseModes = []Mode{ModeDev, ModeAPI, ModeWorker, ModeMigrate}
	workerModes   = []Mode{ModeDev, ModeWorker}
	intakeModes   = []Mode{ModeDev, ModeAPI}
)

// Settings lists every setting dsr reads.
var Settings = slices.Concat(processSettings, observabilitySettings, requestSettings, brandingSettings)

// processSettings say where a process listens, what it connects to and how it logs.
var processSettings = []Setting{
	{Env: "DSR_HTTP_ADDR", Flag: "http", Default: "127.0.0.1:8080", Modes: httpModes,
		Help: "address the HTTP API and web pages listen on",
		apply: func(c *Config, v string) error {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("want host:port, got %q", v)
			}
			c.HTTPAddr = v
			return nil
		}},
	{Env: "DSR_DATA_DIR", Flag: "data-dir", Default: "./.dsr-data", Modes: devOnly,
		Help: "directory for the embedded Temporal and application databases",
		apply: func(c *Config, v string) error {
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("must not be empty")
			}
			c.DataDir = v
			return nil
		}},
	{Env: "DSR_TEMPORAL_PORT", Flag: "temporal-port", Default: "7233", Modes: devOnly,
		Help:  "gRPC port of the embedded Temporal server",
		apply: func(c *Config, v string) error { return port(v, false, &c.TemporalPort) }},
	{Env: "DSR_UI_PORT", Flag: "ui-port", Default: "8233", Modes: devOnly,
		Help:  "port of the embedded Temporal Web UI; 0 turns it off",
		apply: func(c *Config, v string) error { return port(v, true, &c.UIPort) }},
	{Env: "DATABASE_URL", Flag: "database-url", Modes: databaseModes, Secret: true,
		Help: "application database: postgres://… or sqlite:PATH; required except in dev, where it defaults to a SQLite file in the data directory",
		apply: func(c *Config, v string) error {
			if v == "" {
				if c.Mode == ModeDev {
					return nil
				}
				return errRequired
			}
			if _, err := ParseDatabaseURL(v); err != nil {
				return err
			}
			c.DatabaseURL = v
			return nil
		}},
	{Env: "TEMPORAL_ADDRESS", Flag: "temporal-address", Default: "127.0.0.1:7233", Modes: clusterModes,
		Help: "Temporal frontend host:port",
		apply: func(c *Config, v string) error {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("want host:port, got %q", v)
			}
			c.Temporal.Address = v
			return nil
		}},
	{Env: "TEMPORAL_NAMESPACE", Flag: "temporal-namespace", Default: "default", Modes: serverModes,
		Help: "Temporal namespace",
		apply: func(c *Config, v string) error {
			if v == "" {
				return fmt.Errorf("must not be empty")
			}
			c.Temporal.Namespace = v
			return nil
		}},
	{Env: "TEMPORAL_TLS_CERT", Flag: "temporal-tls-cert", Modes: clusterModes,
		Help:  "client certificate file (PEM) for mTLS to Temporal; needs TEMPORAL_TLS_KEY",
		apply: func(c *Config, v string) error { c.Temporal.TLSCert = v; return readable(v) }},
	{Env: "TEMPORAL_TLS_KEY", Flag: "temporal-tls-key", Modes: clusterModes,
		Help:  "client private key file (PEM) for mTLS to Temporal",
		apply: func(c *Config, v string) error { c.Temporal.TLSKey = v; return readable(v) }},
	{Env: "TEMPORAL_TLS_CA", Flag: "temporal-tls-ca", Modes: clusterModes,
		Help:  "CA bundle (PEM) to verify the Temporal server; system roots when empty",
		apply: func(c *Config, v string) error { c.Temporal.TLSCA = v; return readable(v) }},
	{Env: "TEMPORAL_TLS_SERVER_NAME", Flag: "temporal-tls-server-name", Modes: clusterModes,
		Help:  "server name to verify in Temporal's certificate, when it differs from the address",
		apply: func(c *Config, v string) error { c.Temporal.TLSServerName = v; return nil }},
	{Env: "TEMPORAL_API_KEY", Flag: "temporal-api-key", Modes: clusterModes, Secret: true,
		Help:  "API key for Temporal Cloud; implies TLS",
		apply: func(c *Config, v string) error { c.Temporal.APIKey = v; return nil }},
	{Env: "DSR_READY_NEEDS_WORKER", Flag: "ready-needs-worker", Default: "true", Modes: []Mode{ModeAPI},
		Help: "whether /readyz also needs a worker polling the task queue; false keeps the api in service (taking requests that wait) while every worker is down",
		apply: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false, got %q", v)
			}
			c.ReadyNeedsWorker = b
			return nil
		}},
	{Env: "DSR_TASK_QUEUE", Flag: "task-queue", Default: "dsr", Modes: serverModes,
		Help: "Temporal task queue the workers poll",
		apply: func(c *Config, v string) error {
			if v == "" {
				return fmt.Errorf("must not be empty")
			}
			c.TaskQueue = v
			return nil
		}},
	{Env: "DSR_LOG_FORMAT", Flag: "log-format", Modes: allModes,
		Help: "text or json; text in dev, json otherwise",
		apply: func(c *Config, v string) error {
			switch v {
			case "":
				c.LogFormat = "json"
				if c.Mode == ModeDev {
					c.LogFormat = "text"
				}
			case "text", "json":
				c.LogFormat = v
			default:
				return fmt.Errorf("want text or json, got %q", v)
			}
			return nil
		}},
	{Env: "DSR_LOG_LEVEL", Flag: "log-level", Default: "info", Modes: allModes,
		Help: "debug, info, warn or error",
		apply: func(c *Config, v string) error {
			if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
				return fmt.Errorf("want debug, info, warn or error, got %q", v)
			}
			return nil
		}},
	{Env: "DSR_SHUTDOWN_TIMEOUT", Flag: "shutdown-timeout", Default: "30s", Modes: serverModes,
		Help: "how long a stopping process waits for HTTP requests and running activities",
		apply: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("want a positive duration such as 30s, got %q", v)
			}
			c.ShutdownTimeout = d
			return nil
		}},
	{Env: "DSR_WORKER_CACHE_SIZE", Flag: "worker-cache-size", Default: "1000", Modes: workerModes,
		Help: "how many running requests a worker keeps in memory; others are replayed from history when they wake",
		apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("want a positive number of workflows, got %q", v)
			}
			c.WorkerCacheSize = n
			return nil
		}},
}

// observabilitySettings say where a process serves its metrics.
var observabilitySettings = []Setting{
	{Env: "DSR_METRICS_ADDR", Flag: "metrics-addr", Modes: serverModes,
		Help: "address of the Prometheus /metrics endpoint, apart from the API; 127.0.0.1:9464 in dev, :9464 otherwise; \"off\" for none",
		apply: func(c *Config, v string) error {
			switch v {
			case "off":
				return nil
			case "":
				v, c.MetricsAddrDefault = ":9464", true
				if c.Mode == ModeDev {
					v = "127.0.0.1:9464"
				}
			}
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("want host:port or off, got %q", v)
			}
			c.MetricsAddr = v
			return nil
		}},
}

// requestSettings govern privacy requests: keys, mail, links and policies.
var requestSettings = []Setting{
	{Env: "DSR_SECRET_KEY", Flag: "secret-key", Modes: serverModes, Secret: true,
		Help: "server secret, 32+ random bytes in hex or base64 (openssl rand -hex 32); required except in dev, which keeps one in the data directory",
		apply: func(c *Config, v string) error {
			if v == "" {
				if c.Mode == ModeDev {
					return nil
				}
				return errRequired
			}
			s, err := keys.ParseSecret(v)
			c.Secret = s
			return err
		}},
	{Env: "DSR_CODEC_KEYS", Flag: "codec-keys", Modes: serverModes, Secret: true,
		Help: "payload encryption keys, ID:BASE64 of 32 bytes, comma-separated; the first encrypts, all decrypt; required except in dev, which derives one from the secret",
		apply: func(c *Config, v string) error {
			if v == "" {
				if c.Mode == ModeDev {
					return nil
				}
				return errRequired
			}
			ring, err := codec.ParseKeyring(v)
			c.Codec = ring
			return err
		}},
	{Env: "DSR_CODEC_ORIGINS", Flag: "codec-origins", Modes: httpModes,
		Help: "comma-separated origins of Temporal Web UIs allowed to call /codec (CORS); dev allows its own UI",
		apply: func(c *Config, v string) error {
			for _, o := range strings.Split(v, ",") {
				if o = strings.TrimSpace(o); o == "" {
					continue
				}
				u, err := url.Parse(o)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
					return fmt.Errorf("want origins like https://temporal.example.com, got %q", o)
				}
				c.CodecOrigins = append(c.CodecOrigins, o)
			}
			return nil
		}},
	{Env: "DSR_TEMPORAL_UI_URL", Flag: "temporal-ui-url", Modes: []Mode{ModeAPI},
		Help: "base URL of the Temporal Web UI, for links from the privacy team's pages; dev links to its own",
		apply: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			if err := checkHTTPURL(v); err != nil {
				return err
			}
			c.TemporalUIURL = strings.TrimRight(v, "/")
			return nil
		}},
	{Env: "DSR_TRUSTED_PROXIES", Flag: "trusted-proxies", Modes: httpModes,
		Help: "comma-separated CIDRs of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (rate limits, secure cookies)",
		apply: func(c *Config, v string) error {
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p == "" {
					continue
				}
				prefix, err := netip.ParsePrefix(p)
				if err != nil {
					return fmt.Errorf("want CIDRs like 10.0.0.0/8, got %q", p)
				}
				c.TrustedProxies = append(c.TrustedProxies, prefix)
			}
			return nil
		}},
	{Env: "DSR_PUBLIC_URL", Flag: "public-url", Modes: serverModes,
		Help: "base URL requesters reach dsr at, for links in mail; in dev the HTTP address",
		apply: func(c *Config, v string) error {
			if v == "" {
				if c.Mode == ModeDev {
					return nil
				}
				return errRequired
			}
			if err := checkHTTPURL(v); err != nil {
				return err
			}
			c.PublicURL = strings.TrimRight(v, "/")
			return nil
		}},
	{Env: "DSR_LOG_WITNESSES", Flag: "log-witnesses", Modes: httpModes,
		Help: "witnesses asked to cosign the transparency log's checkpoints: comma-separated \"KEY URL\" pairs, each a witness's verifier key and the URL its add-checkpoint is under",
		apply: func(c *Config, v string) error {
			c.LogWitnesses = nil
			for entry := range strings.SplitSeq(v, ",") {
				if strings.TrimSpace(entry) == "" {
					continue
				}
				fields := strings.Fields(entry)
				if len(fields) != 2 {
					return fmt.Errorf("want a witness's verifier key and URL separated by a space, got %q", entry)
				}
				if _, err := fnote.NewVerifierForCosignatureV1(fields[0]); err != nil {
					return fmt.Errorf("witness key %q: %w", fields[0], err)
				}
				if err := checkHTTPURL(fields[1]); err != nil {
					return err
				}
				c.LogWitnesses = append(c.LogWitnesses, LogWitness{VerifierKey: fields[0], URL: fields[1]})
			}
			return nil
		}},
	{Env: "DSR_TEAM_EMAIL", Flag: "team-email", Modes: workerModes,
		Help:  "privacy team address for internal alerts (deadline near); empty logs them only",
		apply: func(c *Config, v string) error { c.TeamEmail = v; return nil }},
	{Env: "DSR_SMTP_HOST", Flag: "smtp-host", Modes: workerModes,
		Help: "SMTP server; required by worker; in dev empty keeps mail in the dev mailbox",
		apply: func(c *Config, v string) error {
			if v == "" && c.Mode == ModeWorker {
				return errRequired
			}
			c.SMTP.Host = v
			return nil
		}},
	{Env: "DSR_SMTP_PORT", Flag: "smtp-port", Default: "587", Modes: workerModes,
		Help:  "SMTP port",
		apply: func(c *Config, v string) error { return port(v, false, &c.SMTP.Port) }},
	{Env: "DSR_SMTP_TLS", Flag: "smtp-tls", Default: "starttls", Modes: workerModes,
		Help: "starttls, tls (implicit) or none",
		apply: func(c *Config, v string) error {
			m, err := mail.ParseTLSMode(v)
			c.SMTP.TLS = m
			return err
		}},
	{Env: "DSR_SMTP_USERNAME", Flag: "smtp-username", Modes: workerModes,
		Help:  "SMTP user name; empty sends without AUTH",
		apply: func(c *Config, v string) error { c.SMTP.Username = v; return nil }},
	{Env: "DSR_SMTP_PASSWORD", Flag: "smtp-password", Modes: workerModes, Secret: true,
		Help:  "SMTP password",
		apply: func(c *Config, v string) error { c.SMTP.Password = v; return nil }},
	{Env: "DSR_SMTP_FROM", Flag: "smtp-from", Default: "privacy@localhost", Modes: workerModes,
		Help:  "sender address of mail to requesters",
		apply: func(c *Config, v string) error { c.SMTP.From = v; return nil }},
	{Env: "DSR_IDENTITY_POLICY", Flag: "identity-policy", Modes: intakeModes,
		Help: "overrides of the identity policy, e.g. review=data_points:3,restrict=mailbox",
		apply: func(c *Config, v string) error {
			p, err := domain.ParseIdentityPolicy(v)
			c.Identity = p
			return err
		}},
	{Env: "DSR_CODE_TTL", Flag: "code-ttl", Default: "30m", Modes: intakeModes,
		Help: "how long a one-time e-mail code is valid",
		apply: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Minute || d > 24*time.Hour {
				return fmt.Errorf("want a duration between 1m and 24h, got %q", v)
			}
			c.CodeLife = d
			return nil
		}},
	{Env: "DSR_REPORT_LINK_TTL", Flag: "report-link-ttl", Default: "168h", Modes: workerModes,
		Help: "how long the report link mailed when a review completes works without the status token",
		apply: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Hour || d > 90*24*time.Hour {
				return fmt.Errorf("want a duration between 1h and 2160h (90 days), got %q", v)
			}
			c.ReportLinkTTL = d
			return nil
		}},
	{Env: "DSR_DEFAULT_DEADLINE_DAYS", Flag: "default-deadline-days", Modes: intakeModes,
		Help: "days to answer a request under the default jurisdiction, and of its one extension; empty keeps the jurisdictions table's (30 built in)",
		apply: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 365 {
				return fmt.Errorf("want 1-365, got %q", v)
			}
			c.Deadline.DefaultDays = n
			return nil
		}},
	{Env: "DSR_JURISDICTIONS", Flag: "jurisdictions", Modes: intakeModes,
		Help: "YAML file whose entries replace the built-in jurisdictions table's (deadlines, extensions, appeal periods, regulators), jurisdiction by jurisdiction; checked at start",
		apply: func(c *Config, v string) error {
			c.Jurisdictions = domain.BuiltinJurisdictions()
			if v == "" {
				return nil
			}
			data, err := os.ReadFile(v)
			if err != nil {
				return fmt.Errorf("cannot read %q", v)
			}
			c.Jurisdictions, err = c.Jurisdictions.Override(v, data)
			return err
		}},
	{Env: "DSR_DATA_MAP", Flag: "data-map", Modes: serverModes,
		Help: "YAML data map of the stores requests fan out to; checked at start (api reads its webhook stores' callback keys)",
		apply: func(c *Config, v string) error {
			if err := readable(v); err != nil {
				return err
			}
			c.DataMap = v
			return nil
		}},
	{Env: "DSR_DEMO_STORE", Flag: "demo-store", Modes: workerModes,
		Help: "where the demo company's databases live: sqlite:DIRECTORY (a file per store; in dev DATA_DIR/demo) or a postgres:// URL (a schema per store); \"off\" for none",
		apply: func(c *Config, v string) error {
			if v == "" || v == "off" {
				c.DemoStore = v
				return nil
			}
			if _, err := ParseDatabaseURL(v); err != nil {
				return err
			}
			c.DemoStore = v
			return nil
		}},
	{Env: "DSR_SIGNING_KEY", Flag: "signing-key", Modes: httpModes, Secret: true,
		Help: "Ed25519 key that signs evidence bundles: base64 of a 32-byte seed (openssl rand -base64 32); empty derives one from the server secret",
		apply: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			k, err := parseSigningKey(v)
			c.SigningKey = k
			return err
		}},
	{Env: "DSR_DRP_AGENTS", Flag: "drp-agents", Modes: serverModes,
		Help: "the Data Rights Protocol's agent directory, a JSON file in the format of the service directory's agents.json; checked at start; empty turns the protocol off (a worker then sends no status callbacks)",
		apply: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			if err := readable(v); err != nil {
				return err
			}
			c.DRP.Agents = v
			return nil
		}},
	{Env: "DSR_DRP_BUSINESS_ID", Flag: "drp-business-id", Modes: httpModes,
		Help: "this business's id in the Data Rights Protocol's business directory: the business-id every agent's message must name; required with DSR_DRP_AGENTS",
		apply: func(c *Config, v string) error {
			v = strings.TrimSpace(v)
			if v == "" && c.DRP.Agents != "" {
				return fmt.Errorf("required when DSR_DRP_AGENTS is set")
			}
			c.DRP.BusinessID = v
			return nil
		}},
	{Env: "DSR_DRP_CONTACT", Flag: "drp-contact", Modes: httpModes,
		Help: "e-mail address the business discovery document gives as technical and business contact; empty for none",
		apply: func(c *Config, v string) error {
			v = strings.TrimSpace(v)
			if v != "" {
				if _, err := domain.NormalizeEmail(v); err != nil {
					return fmt.Errorf("want an e-mail address")
				}
			}
			c.DRP.Contact = v
			return nil
		}},
}

// brandingSettings say how the organisation presents itself to requesters.
var brandingSettings = []Setting{
	{Env: "DSR_ORGANIZATION", Flag: "organization", Modes: serverModes,
		Help:  "the organisation's name, shown on the public pages and signing the mail (\"The NAME privacy team\"); empty signs \"The privacy team\"",
		apply: func(c *Config, v string) error { c.Organization = strings.TrimSpace(v); return nil }},
	{Env: "DSR_PRIVACY_POLICY_URL", Flag: "privacy-policy-url", Modes: serverModes,
		Help: "the organisation's privacy policy, linked from every public page and mail; empty for none",
		apply: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			if err := checkHTTPURL(v); err != nil {
				return err
			}
			c.PrivacyPolicyURL = v
			return nil
		}},
	{Env: "DSR_LOGO", Flag: "logo", Modes: serverModes,
		Help: "the organisation's logo, a PNG, JPEG, SVG or WebP file served at /brand/logo and shown on the public pages and in mail; empty for none",
		apply: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			if _, ok := LogoTypes[strings.ToLower(filepath.Ext(v))]; !ok {
				return fmt.Errorf("want a .png, .jpg, .svg or .webp file, got %q", v)
			}
			c.LogoFile = v
			return readable(v)
		}},
	{Env: "DSR_ACCENT_COLOR", Flag: "accent-color", Default: mail.DefaultAccentColor, Modes: serverModes,
		Help: "the accent colour of the public pages and mail, as #rrggbb",
		apply: func(c *Config, v string) error {
			if !mail.ValidAccentColor(v) {
				return fmt.Errorf("want a colour as #rrggbb, got %q", v)
			}
			c.AccentColor = strings.ToLower(v)
			return nil
		}},
	{Env: "DSR_NOTICE_TEMPLATES", Flag: "notice-templates", Modes: workerModes,
		Help: "directory of the organisation's own notice templates (KIND.tmpl, or KIND.LANG.tmpl for one language), each tried at start; empty uses the built-in ones",
		apply: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			// Tried against sample data now, so a broken template stops start, not a mail.
			if _, err := mail.NewTemplates(i18n.Default(), mail.Brand{}, v); err != nil {
				return err
			}
			c.NoticeTemplates = v
			return nil
		}},
}

// LogoTypes are the logo files DSR_LOGO may name, by extension, with their media types.
var LogoTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml", ".webp": "image/webp",
}

// errRequired is a missing setting that the mode needs.
var errRequired = errors.New("is required")

// Register adds the flags of the settings that mode uses to fs.
func Register(fs *pflag.FlagSet, mode Mode) {
	for _, s := range Settings {
		if !s.usedBy(mode) {
			continue
		}
		help := fmt.Sprintf("%s (env %s)", s.Help, s.Env)
		fs.String(s.Flag, s.Default, help)
	}
}

// Load resolves every setting of mode from fs and the environment, and validates it.
// The error names the variable and flag at fault and never echoes a secret value.
func Load(fs *pflag.FlagSet, mode Mode, lookupEnv func(string) (string, bool)) (Config, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	c := Config{Mode: mode}
	for _, s := range Settings {
		if !s.usedBy(mode) {
			continue
		}
		v := s.Default
		if e, ok := lookupEnv(s.Env); ok {
			v = e
		}
		if f := fs.Lookup(s.Flag); f != nil && f.Changed {
			v = f.Value.String()
		}
		if err := s.apply(&c, v); err != nil {
			// A secret's own error might quote it; that it is missing quotes nothing.
			if s.Secret && !errors.Is(err, errRequired) {
				err = fmt.Errorf("invalid value")
			}
			return Config{}, fmt.Errorf("config: %s (--%s): %w", s.Env, s.Flag, err)
		}
	}
	if (c.Temporal.TLSCert == "") != (c.Temporal.TLSKey == "") {
		return Config{}, fmt.Errorf("config: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY (--temporal-tls-cert, --temporal-tls-key): set both or neither")
	}
	return c, nil
}

func (s Setting) usedBy(m Mode) bool {
	for _, u := range s.Modes {
		if u == m {
			return true
		}
	}
	return false
}

func port(v string, zeroAllowed bool, dst *int) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !zeroAllowed) {
		return fmt.Errorf("want a port number 1-65535, got %q", v)
	}
	*dst = n
	return nil
}

// parseSigningKey accepts standard or URL base64, padded or not, of a 32-byte Ed25519 seed.
func parseSigningKey(v string) (ed25519.PrivateKey, error) {
	v = strings.TrimSpace(v)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if seed, err := enc.DecodeString(v); err == nil && len(seed) == ed25519.SeedSize {
			return ed25519.NewKeyFromSeed(seed), nil
		}
	}
	return nil, fmt.Errorf("want base64 of a %d-byte Ed25519 seed (e.g. `openssl rand -base64 32`)", ed25519.SeedSize)
}

func readable(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read %q", path)
	}
	return f.Close()
}

// DatabaseKind is the SQL engine behind a DATABASE_URL.
type DatabaseKind string

const (
	Postgres DatabaseKind = "postgres"
	SQLite   DatabaseKind = "sqlite"
)

// Database is a parsed DATABASE_URL.
type Database struct {
	Kind DatabaseKind
	// DSN is what the driver takes: the URL itself for PostgreSQL, the file path for SQLite.
	DSN string
}

// ParseDatabaseURL accepts postgres://, postgresql:// and sqlite:PATH (or sqlite://PATH).
func ParseDatabaseURL(raw string) (Database, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Database{}, fmt.Errorf("not a URL")
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		if u.Host == "" && u.Query().Get("host") == "" {
			return Database{}, fmt.Errorf("postgres URL needs a host")
		}
		return Database{Kind: Postgres, DSN: raw}, nil
	case "sqlite":
		path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if path == "" {
			return Database{}, fmt.Errorf("sqlite URL needs a file path, e.g. sqlite:/var/lib/dsr/dsr.db")
		}
		return Database{Kind: SQLite, DSN: path}, nil
	default:
		return Database{}, fmt.Errorf("want a postgres:// or sqlite: URL")
	}
}

// checkHTTPURL refuses anything but an absolute http or https URL.
func checkHTTPURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("want an http(s) URL, got %q", v)
	}
	return nil
}
