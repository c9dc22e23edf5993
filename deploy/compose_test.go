package deploy

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dsr-project/dsr/internal/config"
)

var composeDir = filepath.Join(repoRoot, "deploy", "compose")

// ---- the Compose file, as far as the checks need --------------------------------------------

type composeFile struct {
	Name     string                     `yaml:"name"`
	Services map[string]*composeService `yaml:"services"`
	Volumes  map[string]any             `yaml:"volumes"`
	Networks map[string]any             `yaml:"networks"`
}

type composeService struct {
	Image           string          `yaml:"image"`
	Build           *composeBuild   `yaml:"build"`
	Command         stringList      `yaml:"command"`
	Entrypoint      stringList      `yaml:"entrypoint"`
	Environment     envMap          `yaml:"environment"`
	EnvFile         stringList      `yaml:"env_file"`
	DependsOn       dependsOn       `yaml:"depends_on"`
	Healthcheck     *composeHealth  `yaml:"healthcheck"`
	Restart         string          `yaml:"restart"`
	Ports           []string        `yaml:"ports"`
	Volumes         []string        `yaml:"volumes"`
	StopGracePeriod string          `yaml:"stop_grace_period"`
	ReadOnly        bool            `yaml:"read_only"`
	keys            map[string]bool // every key the service sets, merges resolved
}

type composeBuild struct {
	Context    string            `yaml:"context"`
	Dockerfile string            `yaml:"dockerfile"`
	Args       map[string]string `yaml:"args"`
}

type composeHealth struct {
	Test    stringList `yaml:"test"`
	Disable bool       `yaml:"disable"`
}

// stringList is a string or a list of strings (command, entrypoint, env_file).
type stringList []string

func (s *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = stringList{n.Value}
		return nil
	}
	var l []string
	err := n.Decode(&l)
	*s = l
	return err
}

// envMap is environment: a mapping, or a list of KEY=VALUE.
type envMap map[string]string

func (e *envMap) UnmarshalYAML(n *yaml.Node) error {
	*e = envMap{}
	if n.Kind == yaml.SequenceNode {
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, kv := range l {
			k, v, _ := strings.Cut(kv, "=")
			(*e)[k] = v
		}
		return nil
	}
	var m map[string]*string
	if err := n.Decode(&m); err != nil {
		return err
	}
	for k, v := range m {
		if v == nil {
			(*e)[k] = ""
		} else {
			(*e)[k] = *v
		}
	}
	return nil
}

// dependsOn is depends_on: a list of names (condition service_started) or a mapping.
type dependsOn map[string]string

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	*d = dependsOn{}
	if n.Kind == yaml.SequenceNode {
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, s := range l {
			(*d)[s] = "service_started"
		}
		return nil
	}
	var m map[string]struct {
		Condition string `yaml:"condition"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	for k, v := range m {
		c := v.Condition
		if c == "" {
			c = "service_started"
		}
		(*d)[k] = c
	}
	return nil
}

// composeServiceKeys are the service attributes of the Compose specification; Compose
// refuses a file with any other.
var composeServiceKeys = strings.Fields(`annotations attach blkio_config build cap_add cap_drop cgroup
	cgroup_parent command configs container_name cpu_count cpu_percent cpu_period cpu_quota
	cpu_rt_period cpu_rt_runtime cpu_shares cpus cpuset credential_spec depends_on deploy develop
	device_cgroup_rules devices dns dns_opt dns_search domainname driver_opts entrypoint env_file
	environment expose extends external_links extra_hosts gpus group_add healthcheck hostname image
	init ipc isolation label_file labels links logging mac_address mem_limit mem_reservation
	mem_swappiness memswap_limit models network_mode networks oom_kill_disable oom_score_adj pid
	pids_limit platform ports post_start pre_stop privileged profiles provider pull_policy read_only
	restart runtime scale secrets security_opt shm_size stdin_open stop_grace_period stop_signal
	storage_opt sysctls tmpfs tty ulimits use_api_socket user userns_mode uts volumes volumes_from
	working_dir`)

var composeTopKeys = []string{"name", "services", "volumes", "networks", "secrets", "configs", "include", "models", "version"}

// composeModel is the Compose file with what it refers to: the files Compose reads
// (.env for substitution, env_file examples, mounted files) and the image's ENV.
type composeModel struct {
	file     *composeFile
	topKeys  []string
	envFiles map[string]map[string]string // env_file name -> its .example, parsed
	imageEnv map[string]string            // ENV of the Dockerfile's final stage
	copied   []string                     // files the final stage COPYs in
	mounted  map[string]bool              // bind-mount sources that exist
	temporal string                       // go.mod's go.temporal.io/server version
	ui       string                       // go.mod's github.com/temporalio/ui-server/v2 version
	unset    []string                     // ${VAR}s with neither a value in .env.example nor a default
}

func loadCompose(t *testing.T) *composeModel {
	t.Helper()
	vars, err := parseEnvFile(readFile(t, filepath.Join(composeDir, ".env.example")))
	if err != nil {
		t.Fatalf(".env.example: %v", err)
	}
	text, unset := interpolate(readFile(t, filepath.Join(composeDir, "compose.yaml")), vars)
	m := parseComposeModel(t, text)
	m.unset = unset
	for _, s := range m.file.Services {
		for _, f := range s.EnvFile {
			if _, ok := m.envFiles[f]; ok {
				continue
			}
			// The test reads the committed example, never a filled-in copy with secrets.
			env, err := parseEnvFile(readFile(t, filepath.Join(composeDir, f+".example")))
			if err != nil {
				t.Fatalf("%s.example: %v", f, err)
			}
			m.envFiles[f] = env
		}
		for _, v := range s.Volumes {
			if src, _, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join(composeDir, src)); err == nil {
					m.mounted[src] = true
				}
			}
		}
	}
	df, err := parseDockerfile(readFile(t, filepath.Join(repoRoot, "Dockerfile")))
	if err != nil {
		t.Fatal(err)
	}
	final := df.Stages[len(df.Stages)-1]
	m.imageEnv, m.copied = final.env(), final.copiedPaths()
	_, mods := goModVersions(t)
	m.temporal, m.ui = mods["go.temporal.io/server"], mods["github.com/temporalio/ui-server/v2"]
	return m
}

func parseComposeModel(t *testing.T, text string) *composeModel {
	t.Helper()
	var f composeFile
	if err := yaml.Unmarshal([]byte(text), &f); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	var raw struct {
		Top      map[string]yaml.Node `yaml:",inline"`
		Services map[string]map[string]yaml.Node
	}
	if err := yaml.Unmarshal([]byte(text), &raw); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	m := &composeModel{file: &f, envFiles: map[string]map[string]string{}, mounted: map[string]bool{}}
	for k := range raw.Top {
		m.topKeys = append(m.topKeys, k)
	}
	for name, s := range f.Services {
		s.keys = map[string]bool{}
		for k := range raw.Services[name] {
			s.keys[k] = true
		}
	}
	return m
}

// interpolate substitutes variables as Compose does: ${VAR}, ${VAR:-default},
// ${VAR-default}, ${VAR:?message}, ${VAR?message} and $VAR, with $$ for a literal $. It
// returns the names that have no value and no default.
func interpolate(text string, vars map[string]string) (string, []string) {
	var unset []string
	re := regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)
	out := re.ReplaceAllStringFunc(text, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := re.FindStringSubmatch(m)
		name, op, arg := sub[1], sub[2], sub[3]
		if name == "" {
			name = sub[4]
		}
		v, ok := vars[name]
		switch {
		case ok && (v != "" || !strings.HasPrefix(op, ":")):
			return v
		case strings.HasSuffix(op, "-"):
			return arg
		default:
			unset = append(unset, name)
			return ""
		}
	})
	return out, unset
}

// dsrServices are the services that run the dsr image, by mode.
func (m *composeModel) dsrServices() map[string]config.Mode {
	out := map[string]config.Mode{}
	for name, s := range m.file.Services {
		if s.Build != nil && filepath.Clean(s.Build.Context) == filepath.Join("..", "..") {
			out[name] = modes[firstOf(s.Command)]
		}
	}
	return out
}

// env is what a dsr service's process sees: the image's ENV, then env_file, then
// environment.
func (m *composeModel) env(s *composeService) map[string]string {
	layers := []map[string]string{m.imageEnv}
	for _, f := range s.EnvFile {
		layers = append(layers, m.envFiles[f])
	}
	return mergeEnv(append(layers, s.Environment)...)
}

// resolve finds the service a host:port reached from inside the network (a service
// name) or from this host (localhost and a published port) lands on, and the port
// inside the container.
func (m *composeModel) resolve(host string, port int) (string, int) {
	if _, ok := m.file.Services[host]; ok {
		return host, port
	}
	if host != "localhost" && host != "127.0.0.1" {
		return "", 0
	}
	for name, s := range m.file.Services {
		for _, p := range s.Ports {
			parts := strings.Split(p, ":")
			if len(parts) < 2 {
				continue
			}
			published, _ := strconv.Atoi(parts[len(parts)-2])
			target, _ := strconv.Atoi(strings.Split(parts[len(parts)-1], "/")[0])
			if published == port {
				return name, target
			}
		}
	}
	return "", 0
}

func firstOf(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return l[0]
}

func hostPort(u *url.URL) (string, int) {
	p, _ := strconv.Atoi(u.Port())
	if p == 0 && u.Scheme == "https" {
		p = 443
	} else if p == 0 {
		p = 80
	}
	return u.Hostname(), p
}

// ---- the checks -------------------------------------------------------------------------------

func checkCompose(t *testing.T, m *composeModel) problems {
	var ps problems
	f := m.file
	for _, k := range m.topKeys {
		if !slices.Contains(composeTopKeys, k) && !strings.HasPrefix(k, "x-") {
			ps.addf("top-level key %q is not Compose's", k)
		}
	}
	for _, v := range m.unset {
		ps.addf("${%s} has no value in .env.example and no default", v)
	}
	for _, name := range sortedKeys(f.Services) {
		s := f.Services[name]
		for k := range s.keys {
			if !slices.Contains(composeServiceKeys, k) {
				ps.addf("%s: %q is not a Compose service attribute", name, k)
			}
		}
		// Every service runs something that can be had.
		switch _, tag := imageTag(s.Image); {
		case s.Image == "" && s.Build == nil:
			ps.addf("%s: neither image nor build", name)
		case s.Build == nil && (tag == "" || tag == "latest"):
			ps.addf("%s: image %q is not pinned to a version", name, s.Image)
		}
		if s.Build != nil {
			if _, err := os.Stat(filepath.Join(composeDir, s.Build.Context, s.Build.Dockerfile)); err != nil {
				ps.addf("%s: build %s/%s: %v", name, s.Build.Context, s.Build.Dockerfile, err)
			}
		}
		// Dependencies resolve and their conditions can be met.
		for _, dep := range sortedKeys(s.DependsOn) {
			target, ok := f.Services[dep]
			cond := s.DependsOn[dep]
			switch {
			case !ok:
				ps.addf("%s: depends on %s, which is no service", name, dep)
			case cond == "service_healthy" && (target.Healthcheck == nil || target.Healthcheck.Disable || len(target.Healthcheck.Test) == 0):
				ps.addf("%s: waits for %s to be healthy, but %s has no health check", name, dep, dep)
			case cond == "service_completed_successfully" && (target.Restart == "always" || target.Restart == "unless-stopped"):
				ps.addf("%s: waits for %s to complete, but %s restarts forever (restart: %s)", name, dep, dep, target.Restart)
			case cond != "service_started" && cond != "service_healthy" && cond != "service_completed_successfully":
				ps.addf("%s: depends_on %s: unknown condition %q", name, dep, cond)
			}
		}
		if cycle := dependencyCycle(f, name, nil); cycle != nil {
			ps.addf("%s: dependency cycle %s", name, strings.Join(cycle, " -> "))
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			switch {
			case strings.HasPrefix(src, "."):
				if !m.mounted[src] {
					ps.addf("%s: mounts %s, which does not exist", name, src)
				}
			case !strings.HasPrefix(src, "/"):
				if _, ok := f.Volumes[src]; !ok {
					ps.addf("%s: volume %s is not declared under volumes:", name, src)
				}
			}
		}
	}
	checkComposeDsr(t, m, &ps)
	checkComposeTemporal(m, &ps)
	return ps
}

func dependencyCycle(f *composeFile, name string, path []string) []string {
	if i := slices.Index(path, name); i >= 0 {
		return append(path[i:], name)
	}
	s, ok := f.Services[name]
	if !ok {
		return nil
	}
	for _, dep := range sortedKeys(s.DependsOn) {
		if c := dependencyCycle(f, dep, append(slices.Clone(path), name)); c != nil {
			return c
		}
	}
	return nil
}

func checkComposeDsr(t *testing.T, m *composeModel, ps *problems) {
	f := m.file
	count := map[config.Mode]int{}
	dsr := m.dsrServices()
	for _, name := range sortedKeys(dsr) {
		s, mode := f.Services[name], dsr[name]
		if mode == "" {
			ps.addf("%s: runs the dsr image with command %q, want api, worker or migrate", name, s.Command)
			continue
		}
		count[mode]++
		env := m.env(s)
		explicit := map[string]bool{}
		for k := range s.Environment {
			explicit[k] = true
		}
		checkEnvNames(ps, name, mode, env, explicit)
		checkRequired(ps, name, mode, env)
		if err := loadConfig(t, mode, env); err != nil {
			ps.addf("%s: `dsr %s` would refuse its settings: %v", name, mode, err)
		}
		if !s.ReadOnly {
			ps.addf("%s: read_only is not set; dsr writes nothing to its image", name)
		}
		if mode == config.ModeMigrate {
			if s.Restart != "no" && s.Restart != "on-failure" {
				ps.addf("%s: a one-shot job needs restart: \"no\", not %q", name, s.Restart)
			}
		} else {
			checkComposeServer(m, ps, name, s, mode, env)
		}
		// The database it uses is a service it waits for, with the same credentials.
		if u, err := url.Parse(env["DATABASE_URL"]); err == nil {
			host, _ := hostPort(u)
			if db, ok := f.Services[host]; !ok {
				ps.addf("%s: DATABASE_URL names host %s, which is no service", name, host)
			} else {
				if s.DependsOn[host] != "service_healthy" {
					ps.addf("%s: does not wait for %s (its DATABASE_URL) to be healthy", name, host)
				}
				pw, _ := u.User.Password()
				dbName := strings.TrimPrefix(u.Path, "/")
				if u.User.Username() != db.Environment["POSTGRES_USER"] || pw != db.Environment["POSTGRES_PASSWORD"] || dbName != db.Environment["POSTGRES_DB"] {
					ps.addf("%s: DATABASE_URL user, password or database differ from %s's POSTGRES_USER, POSTGRES_PASSWORD (.env.example) and POSTGRES_DB", name, host)
				}
			}
		}
	}
	for mode, want := range map[config.Mode]int{config.ModeAPI: 2, config.ModeWorker: 2, config.ModeMigrate: 1} {
		if count[mode] < want {
			ps.addf("%d `dsr %s` service(s), want at least %d", count[mode], mode, want)
		}
	}
}

// checkComposeServer checks a long-running api or worker service.
func checkComposeServer(m *composeModel, ps *problems, name string, s *composeService, mode config.Mode, env map[string]string) {
	f := m.file
	if s.DependsOn["migrate"] != "service_completed_successfully" {
		ps.addf("%s: does not wait for migrate to complete; `dsr %s` refuses an older schema", name, mode)
	}
	timeout, err := shutdownTimeout(env)
	grace, gerr := time.ParseDuration(s.StopGracePeriod)
	if s.StopGracePeriod == "" {
		grace, gerr = 10*time.Second, nil // Compose's default
	}
	if err == nil && gerr == nil && grace <= timeout {
		ps.addf("%s: stop_grace_period %v is not longer than DSR_SHUTDOWN_TIMEOUT %v: Docker kills it mid-drain", name, grace, timeout)
	}
	// Temporal: a service it waits for, and the namespace job too.
	if host, _, err := net.SplitHostPort(env["TEMPORAL_ADDRESS"]); err == nil {
		if _, ok := f.Services[host]; !ok {
			ps.addf("%s: TEMPORAL_ADDRESS names host %s, which is no service", name, host)
		} else if s.DependsOn[host] != "service_healthy" {
			ps.addf("%s: does not wait for %s (TEMPORAL_ADDRESS) to be healthy", name, host)
		}
	}
	if ns := namespaceJob(f); ns == "" || s.DependsOn[ns] != "service_completed_successfully" {
		ps.addf("%s: does not wait for the job that creates the Temporal namespace", name)
	}
	if public, err := url.Parse(env["DSR_PUBLIC_URL"]); err == nil {
		if target, _ := m.resolve(hostPort(public)); modeOf(m, target) != config.ModeAPI {
			ps.addf("%s: DSR_PUBLIC_URL %s reaches no api service", name, public)
		}
	}
	switch mode {
	case config.ModeWorker:
		host := env["DSR_SMTP_HOST"]
		if _, ok := f.Services[host]; ok && s.DependsOn[host] == "" {
			ps.addf("%s: does not wait for %s (DSR_SMTP_HOST)", name, host)
		} else if !ok && !strings.Contains(host, ".") {
			ps.addf("%s: DSR_SMTP_HOST %s is neither a service nor a host name", name, host)
		}
		if s.Healthcheck != nil && !s.Healthcheck.Disable && len(s.Healthcheck.Test) > 0 {
			ps.addf("%s: a worker has no HTTP port to check", name)
		}
	case config.ModeAPI:
		port, loopback, err := httpPort(env["DSR_HTTP_ADDR"])
		if err != nil || loopback {
			ps.addf("%s: DSR_HTTP_ADDR %q must listen beyond loopback inside a container", name, env["DSR_HTTP_ADDR"])
		}
		for _, p := range s.Ports {
			parts := strings.Split(p, ":")
			if target, _ := strconv.Atoi(parts[len(parts)-1]); target != port {
				ps.addf("%s: publishes container port %d, but it listens on %d", name, target, port)
			}
		}
		checkComposeAPIHealth(m, ps, name, s, port)
	}
}

// checkComposeAPIHealth: the check must run without a shell (the image has none), with a
// binary the image holds, against /readyz on the port the api listens on.
func checkComposeAPIHealth(m *composeModel, ps *problems, name string, s *composeService, port int) {
	h := s.Healthcheck
	if h == nil || h.Disable || len(h.Test) < 2 {
		ps.addf("%s: no health check", name)
		return
	}
	if h.Test[0] != "CMD" {
		ps.addf("%s: health check is %s, but the distroless image has no shell: use CMD", name, h.Test[0])
		return
	}
	if h.Test[1] != "/dsr" && !slices.Contains(m.copied, h.Test[1]) {
		ps.addf("%s: health check runs %s, which the image does not contain", name, h.Test[1])
	}
	var target *url.URL
	for _, a := range h.Test[2:] {
		if u, err := url.Parse(a); err == nil && u.Scheme == "http" {
			target = u
		}
	}
	if target == nil {
		ps.addf("%s: health check names no http:// URL", name)
		return
	}
	host, p := hostPort(target)
	if p != port || target.Path != "/readyz" || (host != "127.0.0.1" && host != "localhost") {
		ps.addf("%s: health check GETs %s, want http://127.0.0.1:%d/readyz", name, target, port)
	}
}

func modeOf(m *composeModel, service string) config.Mode { return m.dsrServices()[service] }

// namespaceJob is the one-shot service that creates the Temporal namespace.
func namespaceJob(f *composeFile) string {
	for _, name := range sortedKeys(f.Services) {
		if strings.Contains(strings.Join(f.Services[name].Command, " "), "operator namespace create") {
			return name
		}
	}
	return ""
}

func checkComposeTemporal(m *composeModel, ps *problems) {
	f := m.file
	var server, ui string
	for _, name := range sortedKeys(f.Services) {
		switch img, _ := imageTag(f.Services[name].Image); img {
		case "temporalio/server":
			server = name
		case "temporalio/ui":
			ui = name
		}
	}
	if server == "" || ui == "" {
		ps.addf("want a temporalio/server and a temporalio/ui service")
		return
	}
	srv := f.Services[server]

	// Versions move together: the server and its schema tools, and both with the server
	// module dsr's tests and `dsr dev` run.
	_, tag := imageTag(srv.Image)
	if tag != m.temporal {
		ps.addf("%s: temporalio/server:%s, but go.mod has go.temporal.io/server v%s", server, tag, m.temporal)
	}
	for _, name := range sortedKeys(f.Services) {
		img, t := imageTag(f.Services[name].Image)
		if img == "temporalio/admin-tools" && t != tag && !strings.HasPrefix(t, tag+"-") {
			ps.addf("%s: temporalio/admin-tools:%s does not match the server %s", name, t, tag)
		}
	}
	if _, t := imageTag(f.Services[ui].Image); t != m.ui {
		ps.addf("%s: temporalio/ui:%s, but go.mod has the ui-server v%s that `dsr dev` serves", ui, t, m.ui)
	}

	// Persistence: the PostgreSQL service it names, with that service's credentials.
	env := srv.Environment
	if env["DB"] != "postgres12" && env["DB"] != "postgres12_pgx" {
		ps.addf("%s: DB=%q, want postgres12", server, env["DB"])
	}
	db, ok := f.Services[env["POSTGRES_SEEDS"]]
	switch {
	case !ok:
		ps.addf("%s: POSTGRES_SEEDS %q is no service", server, env["POSTGRES_SEEDS"])
	case !strings.HasPrefix(db.Image, "postgres:"):
		ps.addf("%s: POSTGRES_SEEDS %q is not a PostgreSQL service", server, env["POSTGRES_SEEDS"])
	case env["POSTGRES_USER"] != db.Environment["POSTGRES_USER"] || env["POSTGRES_PWD"] != db.Environment["POSTGRES_PASSWORD"]:
		ps.addf("%s: POSTGRES_USER/POSTGRES_PWD differ from %s's POSTGRES_USER/POSTGRES_PASSWORD", server, env["POSTGRES_SEEDS"])
	}
	if srv.DependsOn[env["POSTGRES_SEEDS"]] != "service_healthy" {
		ps.addf("%s: does not wait for %s to be healthy", server, env["POSTGRES_SEEDS"])
	}
	if p := env["DYNAMIC_CONFIG_FILE_PATH"]; p != "" {
		found := false
		for _, v := range srv.Volumes {
			parts := strings.Split(v, ":")
			if len(parts) >= 2 && parts[1] == p {
				found = m.mounted[parts[0]]
				if b, err := os.ReadFile(filepath.Join(composeDir, parts[0])); err == nil {
					var dc map[string]any
					if err := yaml.Unmarshal(b, &dc); err != nil {
						ps.addf("%s: %s: %v", server, parts[0], err)
					}
				}
			}
		}
		if !found {
			ps.addf("%s: DYNAMIC_CONFIG_FILE_PATH %s is not a mounted file", server, p)
		}
	}
	// Its health check reaches the frontend on loopback only when it binds all addresses.
	if h := srv.Healthcheck; h != nil && strings.Contains(strings.Join(h.Test, " "), "127.0.0.1:7233") && env["BIND_ON_IP"] != "0.0.0.0" {
		ps.addf("%s: the health check dials 127.0.0.1:7233 but BIND_ON_IP is %q", server, env["BIND_ON_IP"])
	}

	// The schema job sets up both databases the server uses, and the server waits for it.
	dbs := []string{orDefault(env["DBNAME"], "temporal"), orDefault(env["VISIBILITY_DBNAME"], "temporal_visibility")}
	schema := ""
	for _, name := range sortedKeys(f.Services) {
		s := f.Services[name]
		script := strings.Join(s.Command, "\n")
		if !strings.Contains(script, "temporal-sql-tool") {
			continue
		}
		schema = name
		for _, d := range dbs {
			for _, step := range []string{"create", "setup-schema", "update-schema"} {
				if !regexp.MustCompile(`temporal-sql-tool[^\n]* --db ` + d + ` ` + step).MatchString(script) {
					ps.addf("%s: does not run temporal-sql-tool --db %s %s", name, d, step)
				}
			}
		}
		se := s.Environment
		if se["SQL_HOST"] != env["POSTGRES_SEEDS"] || se["SQL_USER"] != env["POSTGRES_USER"] || se["SQL_PASSWORD"] != env["POSTGRES_PWD"] || se["SQL_PLUGIN"] != env["DB"] {
			ps.addf("%s: SQL_HOST/SQL_USER/SQL_PASSWORD/SQL_PLUGIN differ from the server's database settings", name)
		}
	}
	if schema == "" {
		ps.addf("no service sets up Temporal's schema with temporal-sql-tool")
	} else if srv.DependsOn[schema] != "service_completed_successfully" {
		ps.addf("%s: does not wait for %s to complete", server, schema)
	}

	// The namespace job creates the namespace dsr uses, and the UI opens it.
	namespace := "default"
	for name := range m.dsrServices() {
		if ns, ok := m.env(f.Services[name])["TEMPORAL_NAMESPACE"]; ok {
			namespace = ns
		}
	}
	if job := namespaceJob(f); job == "" {
		ps.addf("no service creates the Temporal namespace")
	} else if f.Services[job].Environment["NAMESPACE"] != namespace {
		ps.addf("%s: creates namespace %q, dsr uses %q", job, f.Services[job].Environment["NAMESPACE"], namespace)
	}

	// The UI talks to this server, opens dsr's namespace and decodes with an api's codec.
	uenv := f.Services[ui].Environment
	if host, _, _ := net.SplitHostPort(uenv["TEMPORAL_ADDRESS"]); host != server {
		ps.addf("%s: TEMPORAL_ADDRESS %q is not the %s service", ui, uenv["TEMPORAL_ADDRESS"], server)
	}
	if uenv["TEMPORAL_DEFAULT_NAMESPACE"] != namespace {
		ps.addf("%s: TEMPORAL_DEFAULT_NAMESPACE %q, dsr uses %q", ui, uenv["TEMPORAL_DEFAULT_NAMESPACE"], namespace)
	}
	codec, err := url.Parse(uenv["TEMPORAL_CODEC_ENDPOINT"])
	if err != nil || codec.Host == "" {
		ps.addf("%s: TEMPORAL_CODEC_ENDPOINT %q is not a URL", ui, uenv["TEMPORAL_CODEC_ENDPOINT"])
		return
	}
	target, port := m.resolve(hostPort(codec))
	if modeOf(m, target) != config.ModeAPI {
		ps.addf("%s: TEMPORAL_CODEC_ENDPOINT %s reaches no api service", ui, codec)
	} else if p, _, _ := httpPort(m.env(f.Services[target])["DSR_HTTP_ADDR"]); p != port {
		ps.addf("%s: TEMPORAL_CODEC_ENDPOINT %s reaches %s on port %d, where nothing listens", ui, codec, target, port)
	}
	// The browser sends the UI's origin; the api must allow it (CORS) or drop the answer.
	for _, p := range f.Services[ui].Ports {
		parts := strings.Split(p, ":")
		if len(parts) < 2 || modeOf(m, target) != config.ModeAPI {
			continue
		}
		origin := "http://localhost:" + parts[len(parts)-2]
		var allowed []string
		for _, o := range strings.Split(m.env(f.Services[target])["DSR_CODEC_ORIGINS"], ",") {
			allowed = append(allowed, strings.TrimSpace(o))
		}
		if !slices.Contains(allowed, origin) {
			ps.addf("%s: DSR_CODEC_ORIGINS %q does not allow the Web UI's origin %s", target, allowed, origin)
		}
	}
	if codec.Path != "/codec" {
		ps.addf("%s: TEMPORAL_CODEC_ENDPOINT path %q, want /codec (the UI appends /encode and /decode)", ui, codec.Path)
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// ---- tests ------------------------------------------------------------------------------------

func TestCompose(t *testing.T) {
	report(t, "deploy/compose", checkCompose(t, loadCompose(t)))
}

func TestComposeEnvExamples(t *testing.T) {
	// Secrets stay out of the examples: each is empty, for the operator to generate.
	env, err := parseEnvFile(readFile(t, filepath.Join(composeDir, "dsr.env.example")))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range sortedKeys(env) {
		if s, ok := setting(k); ok && s.Secret && k != "DATABASE_URL" && env[k] != "" {
			t.Errorf("dsr.env.example: %s is a secret but has a value", k)
		}
	}
	for _, k := range []string{"DSR_SECRET_KEY", "DSR_CODEC_KEYS", "DSR_SIGNING_KEY", "DATABASE_URL", "TEMPORAL_ADDRESS", "DSR_PUBLIC_URL", "DSR_SMTP_HOST", "DSR_SMTP_PORT", "DSR_SMTP_TLS", "DSR_SMTP_USERNAME", "DSR_SMTP_PASSWORD", "DSR_SMTP_FROM"} {
		if _, ok := env[k]; !ok {
			t.Errorf("dsr.env.example does not list %s", k)
		}
	}
	// Filled-in copies are never committed.
	ignore := readFile(t, filepath.Join(composeDir, ".gitignore"))
	for _, f := range []string{"/.env", "/dsr.env"} {
		if !strings.Contains(ignore, f+"\n") {
			t.Errorf("deploy/compose/.gitignore does not ignore %s", f)
		}
	}
}

func TestInterpolate(t *testing.T) {
	vars := map[string]string{"A": "a", "E": ""}
	got, unset := interpolate("$A ${A} ${B:-b} ${E:-e} ${E-e} ${B?need B} $$A $${A} ${C}", vars)
	if want := "a a b e   $A ${A} "; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !slices.Equal(unset, []string{"B", "C"}) {
		t.Errorf("unset %q, want [B C]", unset)
	}
}

// TestComposeChecksCatchFaults breaks the real model in one way at a time: each fault
// must be reported.
func TestComposeChecksCatchFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(m *composeModel)
		want  []string
	}{
		{"no image", func(m *composeModel) { m.file.Services["mailpit"].Image = "" }, []string{"mailpit: neither image nor build"}},
		{"latest", func(m *composeModel) { m.file.Services["mailpit"].Image = "axllent/mailpit:latest" }, []string{"not pinned"}},
		{"unknown dependency", func(m *composeModel) { m.file.Services["api-1"].DependsOn["redis"] = "service_started" }, []string{"api-1: depends on redis"}},
		{"healthy without check", func(m *composeModel) { m.file.Services["temporal"].Healthcheck = nil }, []string{"no health check"}},
		{"completion of a daemon", func(m *composeModel) { m.file.Services["migrate"].Restart = "unless-stopped" }, []string{"restarts forever"}},
		{"cycle", func(m *composeModel) {
			m.file.Services["dsr-db"].DependsOn = dependsOn{"api-1": "service_started"}
		}, []string{"dependency cycle"}},
		{"typo in attribute", func(m *composeModel) { m.file.Services["api-2"].keys["depend_on"] = true }, []string{`"depend_on" is not a Compose service attribute`}},
		{"unknown setting", func(m *composeModel) { m.file.Services["worker-1"].Environment["DSR_SMTP_HOSTNAME"] = "x" }, []string{"DSR_SMTP_HOSTNAME is not a dsr setting"}},
		{"setting of another role", func(m *composeModel) { m.file.Services["worker-1"].Environment["DSR_HTTP_ADDR"] = "0.0.0.0:8080" }, []string{"worker-1: DSR_HTTP_ADDR is set but `dsr worker` does not read it"}},
		{"worker without SMTP", func(m *composeModel) { delete(m.envFiles["dsr.env"], "DSR_SMTP_HOST") }, []string{"needs DSR_SMTP_HOST"}},
		{"api without public URL", func(m *composeModel) { delete(m.envFiles["dsr.env"], "DSR_PUBLIC_URL") }, []string{"api-1: `dsr api` needs DSR_PUBLIC_URL"}},
		{"bad value", func(m *composeModel) { m.envFiles["dsr.env"]["DSR_SMTP_TLS"] = "maybe" }, []string{"would refuse its settings", "DSR_SMTP_TLS"}},
		{"api on loopback", func(m *composeModel) { m.file.Services["api-2"].Environment["DSR_HTTP_ADDR"] = "127.0.0.1:8080" }, []string{"api-2: DSR_HTTP_ADDR"}},
		{"health check through a shell", func(m *composeModel) {
			m.file.Services["api-1"].Healthcheck.Test = stringList{"CMD-SHELL", "curl -f http://127.0.0.1:8080/readyz"}
		}, []string{"no shell"}},
		{"health check on the wrong port", func(m *composeModel) {
			m.file.Services["api-1"].Healthcheck.Test = stringList{"CMD", "/healthcheck", "http://127.0.0.1:9090/readyz"}
		}, []string{"want http://127.0.0.1:8080/readyz"}},
		{"health check binary missing", func(m *composeModel) { m.copied = []string{"/dsr"} }, []string{"does not contain"}},
		{"short grace", func(m *composeModel) { m.file.Services["worker-2"].StopGracePeriod = "" }, []string{"worker-2: stop_grace_period 10s"}},
		{"api before migrate", func(m *composeModel) { delete(m.file.Services["api-1"].DependsOn, "migrate") }, []string{"api-1: does not wait for migrate"}},
		{"one worker", func(m *composeModel) { delete(m.file.Services, "worker-2") }, []string{"1 `dsr worker` service"}},
		{"database password differs", func(m *composeModel) {
			m.envFiles["dsr.env"]["DATABASE_URL"] = "postgres://dsr:other@dsr-db:5432/dsr?sslmode=disable"
		}, []string{"DATABASE_URL user, password or database differ"}},
		{"database elsewhere", func(m *composeModel) {
			m.envFiles["dsr.env"]["DATABASE_URL"] = "postgres://dsr:x@db:5432/dsr"
		}, []string{"DATABASE_URL names host db"}},
		{"temporal elsewhere", func(m *composeModel) { m.envFiles["dsr.env"]["TEMPORAL_ADDRESS"] = "temporal-frontend:7233" }, []string{"TEMPORAL_ADDRESS names host temporal-frontend"}},
		{"codec at the UI", func(m *composeModel) {
			m.file.Services["temporal-ui"].Environment["TEMPORAL_CODEC_ENDPOINT"] = "http://localhost:8233/codec"
		}, []string{"reaches no api service"}},
		{"codec origin", func(m *composeModel) {
			m.file.Services["api-1"].Environment["DSR_CODEC_ORIGINS"] = "http://localhost:3000"
		}, []string{"api-1: DSR_CODEC_ORIGINS", "does not allow the Web UI's origin http://localhost:8233"}},
		{"codec path", func(m *composeModel) {
			m.file.Services["temporal-ui"].Environment["TEMPORAL_CODEC_ENDPOINT"] = "http://localhost:8080/api/codec"
		}, []string{"want /codec"}},
		{"server version", func(m *composeModel) { m.file.Services["temporal"].Image = "temporalio/server:1.28.0" }, []string{"but go.mod has go.temporal.io/server"}},
		{"tools version", func(m *composeModel) {
			m.file.Services["temporal-schema"].Image = "temporalio/admin-tools:1.27.2-tctl-1.18.1-cli-1.1.1"
		}, []string{"does not match the server"}},
		{"schema step missing", func(m *composeModel) {
			s := m.file.Services["temporal-schema"]
			s.Command = stringList{strings.Replace(strings.Join(s.Command, "\n"), "--db temporal_visibility setup-schema", "--db temporal_visibility", 1)}
		}, []string{"--db temporal_visibility setup-schema"}},
		{"server password differs", func(m *composeModel) { m.file.Services["temporal"].Environment["POSTGRES_PWD"] = "x" }, []string{"POSTGRES_USER/POSTGRES_PWD differ"}},
		{"namespace differs", func(m *composeModel) { m.envFiles["dsr.env"]["TEMPORAL_NAMESPACE"] = "dsr" }, []string{`creates namespace "default", dsr uses "dsr"`}},
		{"unset variable", func(m *composeModel) { m.unset = append(m.unset, "DSR_DB_PASSWORD") }, []string{"${DSR_DB_PASSWORD} has no value"}},
		{"missing mount", func(m *composeModel) { delete(m.mounted, "./temporal/dynamicconfig.yaml") }, []string{"does not exist"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := loadCompose(t)
			tc.fault(m)
			wantProblem(t, checkCompose(t, m), tc.want...)
		})
	}
}
