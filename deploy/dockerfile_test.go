package deploy

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// ---- a Dockerfile, as far as the checks need -------------------------------------------------

type dockerInstruction struct {
	Cmd  string // upper case: FROM, RUN, ...
	Args string // the rest, continuation lines joined
	Line int
}

type dockerStage struct {
	Base, Name   string
	Instructions []dockerInstruction
}

type dockerfile struct {
	GlobalArgs map[string]string // ARGs before the first FROM, with their defaults
	Stages     []*dockerStage
}

// parseDockerfile splits a Dockerfile into stages and instructions: comments (parser
// directives included) are dropped and lines ending in a backslash are joined.
func parseDockerfile(text string) (*dockerfile, error) {
	df := &dockerfile{GlobalArgs: map[string]string{}}
	var cur strings.Builder
	start := 0
	lines := strings.Split(text, "\n")
	for i, raw := range lines {
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		full := strings.TrimSpace(cur.String())
		cur.Reset()
		if full == "" {
			continue
		}
		cmd, args, _ := strings.Cut(full, " ")
		in := dockerInstruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start}
		switch {
		case in.Cmd == "FROM":
			f := strings.Fields(in.Args)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--") })
			st := &dockerStage{Base: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.Name = f[2]
			}
			df.Stages = append(df.Stages, st)
		case len(df.Stages) == 0 && in.Cmd == "ARG":
			k, v, _ := strings.Cut(in.Args, "=")
			df.GlobalArgs[k] = v
		case len(df.Stages) == 0:
			return nil, fmt.Errorf("line %d: %s before the first FROM", start, in.Cmd)
		default:
			st := df.Stages[len(df.Stages)-1]
			st.Instructions = append(st.Instructions, in)
		}
	}
	if len(df.Stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return df, nil
}

// expand replaces ${NAME} and $NAME with values from vars.
func expand(s string, vars map[string]string) string {
	return regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`).ReplaceAllStringFunc(s, func(m string) string {
		name := strings.Trim(m, "${}")
		if v, ok := vars[name]; ok {
			return v
		}
		return m
	})
}

func (df *dockerfile) stage(name string) *dockerStage {
	for _, s := range df.Stages {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// argsBefore lists the ARGs a stage declares before instruction i: only those are in
// scope (an ARG before FROM is not, unless declared again inside the stage).
func (s *dockerStage) argsBefore(i int) map[string]bool {
	out := map[string]bool{}
	for _, in := range s.Instructions[:i] {
		if in.Cmd == "ARG" {
			k, _, _ := strings.Cut(in.Args, "=")
			out[k] = true
		}
	}
	return out
}

// env is what the stage's ENV instructions set (KEY=VALUE form).
func (s *dockerStage) env() map[string]string {
	out := map[string]string{}
	for _, in := range s.Instructions {
		if in.Cmd != "ENV" {
			continue
		}
		for _, kv := range strings.Fields(in.Args) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				out[k] = strings.Trim(v, `"`)
			}
		}
	}
	return out
}

// copiedPaths are the destinations the stage COPYs from other stages.
func (s *dockerStage) copiedPaths() []string {
	var out []string
	for _, in := range s.Instructions {
		if in.Cmd == "COPY" && strings.Contains(in.Args, "--from=") {
			f := strings.Fields(in.Args)
			out = append(out, f[len(f)-1])
		}
	}
	return out
}

// ---- the checks -------------------------------------------------------------------------------

type dockerfileModel struct {
	df           *dockerfile
	goVersion    string // go.mod's go directive
	hasVersion   bool   // cmd/dsr declares main.version
	dockerignore []string
	buildInputs  []string // files `go build` reads, relative to the repository
}

func loadDockerfile(t *testing.T) *dockerfileModel {
	t.Helper()
	df, err := parseDockerfile(readFile(t, filepath.Join(repoRoot, "Dockerfile")))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	goVersion, _ := goModVersions(t)
	return &dockerfileModel{
		df:           df,
		goVersion:    goVersion,
		hasVersion:   declaresVar(t, filepath.Join(repoRoot, "cmd", "dsr"), "main", "version"),
		dockerignore: strings.Split(readFile(t, filepath.Join(repoRoot, ".dockerignore")), "\n"),
		buildInputs:  buildInputs(t),
	}
}

var dsrBuild = regexp.MustCompile(`go build .*\./cmd/dsr\b`)

func checkDockerfile(m *dockerfileModel) problems {
	var ps problems
	df := m.df
	final := df.Stages[len(df.Stages)-1]

	// The runtime image: distroless static, non-root, /dsr as the entrypoint.
	if name, tag := imageTag(final.Base); name != "gcr.io/distroless/static-debian12" || !strings.HasPrefix(tag, "nonroot") {
		ps.addf("final stage is FROM %s, want gcr.io/distroless/static-debian12:nonroot", final.Base)
	}
	user := ""
	var entrypoint []string
	copied := map[string]bool{}
	for i, in := range final.Instructions {
		switch in.Cmd {
		case "USER":
			user = in.Args
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(in.Args), &entrypoint); err != nil {
				ps.addf("line %d: ENTRYPOINT must be the exec (JSON) form: the image has no shell", in.Line)
			}
		case "COPY":
			f := strings.Fields(in.Args)
			if from, ok := strings.CutPrefix(f[0], "--from="); ok {
				if df.stage(from) == nil {
					ps.addf("line %d: COPY --from=%s names no earlier stage", in.Line, from)
				}
				copied[f[len(f)-1]] = true
			}
		case "LABEL":
			if strings.Contains(in.Args, "org.opencontainers.image.version=") {
				if !regexp.MustCompile(`org\.opencontainers\.image\.version="?\$\{?VERSION\}?`).MatchString(in.Args) {
					ps.addf("line %d: org.opencontainers.image.version is not $VERSION", in.Line)
				} else if !final.argsBefore(i)["VERSION"] {
					ps.addf("line %d: the label uses $VERSION but the final stage declares no ARG VERSION before it", in.Line)
				}
			}
		}
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
		ps.addf("final stage runs as %q: want USER nonroot (65532)", user)
	}
	if !slices.Equal(entrypoint, []string{"/dsr"}) {
		ps.addf(`ENTRYPOINT is %q, want ["/dsr"]`, entrypoint)
	}
	if !copied["/dsr"] {
		ps.addf("the final stage does not COPY --from the build stage to /dsr")
	}
	if !strings.Contains(strings.Join(instructionArgs(final, "LABEL"), " "), "org.opencontainers.image.version=") {
		ps.addf("no org.opencontainers.image.version label")
	}

	// The build: a golang image of go.mod's minor version, static, reproducible, stamped.
	var build *dockerStage
	var buildAt int
	for _, st := range df.Stages {
		for i, in := range st.Instructions {
			if in.Cmd == "RUN" && dsrBuild.MatchString(in.Args) {
				build, buildAt = st, i
			}
		}
	}
	if build == nil {
		ps.addf("no stage runs go build ./cmd/dsr")
		return ps
	}
	base := expand(build.Base, df.GlobalArgs)
	minor := strings.Join(strings.SplitN(m.goVersion, ".", 3)[:2], ".")
	if name, tag := imageTag(base); name != "golang" && name != "docker.io/library/golang" || !strings.HasPrefix(tag, minor) {
		ps.addf("build stage is FROM %s, want golang:%s (go.mod says go %s)", base, minor, m.goVersion)
	}
	run := build.Instructions[buildAt]
	// The command that builds dsr, apart from others the same RUN chains with &&.
	var cmd string
	for _, part := range strings.Split(run.Args, "&&") {
		if dsrBuild.MatchString(part) {
			cmd = part
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath"} {
		if !strings.Contains(cmd, want) {
			ps.addf("line %d: the dsr build lacks %s", run.Line, want)
		}
	}
	if !strings.Contains(run.Args, "--mount=type=cache,target=/root/.cache/go-build") {
		ps.addf("line %d: the dsr build lacks --mount=type=cache,target=/root/.cache/go-build", run.Line)
	}
	if !regexp.MustCompile(`-ldflags "[^"]*-s -w[^"]*-X main\.version=\$\{?VERSION\}?`).MatchString(cmd) {
		ps.addf(`line %d: the dsr build does not stamp -ldflags "-s -w -X main.version=${VERSION}"`, run.Line)
	}
	if !build.argsBefore(buildAt)["VERSION"] {
		ps.addf("line %d: $VERSION is used but the build stage declares no ARG VERSION before it (an ARG before FROM is out of scope)", run.Line)
	}
	if !m.hasVersion {
		ps.addf("cmd/dsr declares no package-level var version: -X main.version would stamp nothing")
	}

	// Everything the build reads must reach the build context.
	for _, f := range append([]string{"go.mod", "go.sum"}, m.buildInputs...) {
		if pat := dockerignored(m.dockerignore, f); pat != "" {
			ps.addf(".dockerignore pattern %q excludes %s, which the build needs", pat, f)
		}
	}
	for _, want := range []string{".git", ".dsr-data", "*.test"} {
		if dockerignored(m.dockerignore, want) == "" {
			ps.addf(".dockerignore does not exclude %s", want)
		}
	}
	return ps
}

func instructionArgs(st *dockerStage, cmd string) []string {
	var out []string
	for _, in := range st.Instructions {
		if in.Cmd == cmd {
			out = append(out, in.Args)
		}
	}
	return out
}

// dockerignored returns the pattern that leaves path out of the build context, or "".
// Like Docker: patterns are relative to the context root, * and ? stay within a path
// element, ** spans any, a pattern that matches a directory excludes what is under it,
// and a later !pattern takes a path back.
func dockerignored(patterns []string, path string) string {
	excludedBy := ""
	for _, raw := range patterns {
		p := strings.TrimSpace(raw)
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		negate := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(strings.TrimPrefix(p, "!"), "/")
		if !dockerMatch(p, path) {
			continue
		}
		if negate {
			excludedBy = ""
		} else {
			excludedBy = raw
		}
	}
	return excludedBy
}

func dockerMatch(pattern, path string) bool {
	var re strings.Builder
	re.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case strings.HasPrefix(pattern[i:], "**/"):
			re.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(pattern[i:], "**"):
			re.WriteString(".*")
			i++
		case c == '*':
			re.WriteString("[^/]*")
		case c == '?':
			re.WriteString("[^/]")
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("(/.*)?$")
	return regexp.MustCompile(re.String()).MatchString(path)
}

// declaresVar reports whether the package in dir declares a package-level var name.
func declaresVar(t *testing.T, dir, pkg, name string) bool {
	t.Helper()
	pkgs, err := parser.ParseDir(token.NewFileSet(), dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range pkgs[pkg].Files {
		for _, d := range file.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.VAR {
				for _, s := range g.Specs {
					if slices.ContainsFunc(s.(*ast.ValueSpec).Names, func(n *ast.Ident) bool { return n.Name == name }) {
						return true
					}
				}
			}
		}
	}
	return false
}

// buildInputs lists the files (Go sources and embedded files) of this module that the
// image's two go build commands read, relative to the repository.
func buildInputs(t *testing.T) []string {
	t.Helper()
	buildInputsOnce.Do(func() { buildInputsList, buildInputsErr = listBuildInputs() })
	if buildInputsErr != nil {
		t.Fatal(buildInputsErr)
	}
	return slices.Clone(buildInputsList)
}

var (
	buildInputsOnce sync.Once
	buildInputsList []string
	buildInputsErr  error
)

func listBuildInputs() ([]string, error) {
	cmd := exec.Command("go", "list", "-e", "-deps",
		"-f", `{{if .Module}}{{if .Module.Main}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{end}}{{end}}`,
		"./cmd/dsr", "./deploy/healthcheck")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, f := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(abs, f)
		if err != nil {
			return nil, err
		}
		files = append(files, filepath.ToSlash(rel))
	}
	if len(files) < 10 {
		return nil, fmt.Errorf("go list found only %d build inputs: %q", len(files), files)
	}
	return files, nil
}

// ---- tests ------------------------------------------------------------------------------------

func TestDockerfile(t *testing.T) {
	report(t, "Dockerfile", checkDockerfile(loadDockerfile(t)))
}

// TestDockerfileChecksCatchFaults breaks a copy of the real files in one way at a time:
// each fault must be reported.
func TestDockerfileChecksCatchFaults(t *testing.T) {
	real := readFile(t, filepath.Join(repoRoot, "Dockerfile"))
	for _, tc := range []struct {
		name     string
		old, new string
		want     []string
	}{
		{"runs as root", "USER nonroot:nonroot", "USER root", []string{"runs as", "root"}},
		{"no USER", "USER nonroot:nonroot", "", []string{"want USER nonroot"}},
		{"shell entrypoint", `ENTRYPOINT ["/dsr"]`, `ENTRYPOINT /dsr`, []string{"exec (JSON) form"}},
		{"not distroless", "FROM gcr.io/distroless/static-debian12:nonroot", "FROM debian:12", []string{"final stage is FROM debian:12"}},
		{"distroless as root", "FROM gcr.io/distroless/static-debian12:nonroot", "FROM gcr.io/distroless/static-debian12:latest", []string{"want gcr.io/distroless/static-debian12:nonroot"}},
		{"version not stamped", "-X main.version=${VERSION}", "", []string{"does not stamp"}},
		{"ARG only before FROM", "ARG TARGETARCH\nARG VERSION=dev", "ARG TARGETARCH", []string{"declares no ARG VERSION"}},
		{"cgo on", "CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \\\n    go build -trimpath -ldflags \"-s -w -X", "GOOS=${TARGETOS} GOARCH=${TARGETARCH} \\\n    go build -trimpath -ldflags \"-s -w -X", []string{"lacks CGO_ENABLED=0"}},
		{"no trimpath", "go build -trimpath -ldflags \"-s -w -X", "go build -ldflags \"-s -w -X", []string{"lacks -trimpath"}},
		{"no build cache", "--mount=type=cache,target=/root/.cache/go-build", "", []string{"lacks --mount=type=cache,target=/root/.cache/go-build"}},
		{"old Go", "ARG GO_VERSION=1.26", "ARG GO_VERSION=1.24", []string{"want golang:1.26"}},
		{"copy from nowhere", "COPY --from=build /out/dsr /dsr", "COPY --from=builder /out/dsr /dsr", []string{"--from=builder names no earlier stage"}},
		{"label not the version", `org.opencontainers.image.version="${VERSION}"`, `org.opencontainers.image.version="1.0"`, []string{"is not $VERSION"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(real, tc.old) {
				t.Fatalf("the Dockerfile no longer contains %q; update this case", tc.old)
			}
			df, err := parseDockerfile(strings.Replace(real, tc.old, tc.new, 1))
			if err != nil {
				t.Fatal(err)
			}
			m := loadDockerfile(t)
			m.df = df
			wantProblem(t, checkDockerfile(m), tc.want...)
		})
	}

	t.Run("no main.version", func(t *testing.T) {
		m := loadDockerfile(t)
		m.hasVersion = false
		wantProblem(t, checkDockerfile(m), "declares no package-level var version")
	})
	t.Run("dockerignore drops sources", func(t *testing.T) {
		m := loadDockerfile(t)
		m.dockerignore = append(m.dockerignore, "internal/**/*.tmpl")
		wantProblem(t, checkDockerfile(m), "internal/**/*.tmpl", "internal/mail/templates/")
	})
	t.Run("dockerignore keeps .git", func(t *testing.T) {
		m := loadDockerfile(t)
		m.dockerignore = slices.DeleteFunc(m.dockerignore, func(s string) bool { return s == ".git" })
		wantProblem(t, checkDockerfile(m), "does not exclude .git")
	})
}

func TestDockerignoreMatching(t *testing.T) {
	for _, tc := range []struct {
		patterns []string
		path     string
		excluded bool
	}{
		{[]string{".git"}, ".git/config", true},
		{[]string{".git"}, "x/.git", false},
		{[]string{"/dsr"}, "dsr", true},
		{[]string{"/dsr"}, "cmd/dsr/main.go", false},
		{[]string{"*.test"}, "api.test", true},
		{[]string{"*.test"}, "api/api.test", false},
		{[]string{"**/*.test"}, "api/api.test", true},
		{[]string{"**/testdata"}, "workflows/testdata/a.json", true},
		{[]string{"deploy/compose"}, "deploy/compose/compose.yaml", true},
		{[]string{"deploy/compose"}, "deploy/healthcheck/main.go", false},
		{[]string{"*.md", "!README.md"}, "README.md", false},
		{[]string{"*.md", "!README.md"}, "NOTES.md", true},
	} {
		if got := dockerignored(tc.patterns, tc.path) != ""; got != tc.excluded {
			t.Errorf("%q excludes %s: %v, want %v", tc.patterns, tc.path, got, tc.excluded)
		}
	}
}
