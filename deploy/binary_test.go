package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recoveryhq/recovery/internal/pgcluster/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The production build: what the Dockerfile and `make build-prod` run.
const (
	prodTags    = "noembed"
	prodFlags   = "-tags noembed -trimpath -ldflags='-s -w'"
	noEmbedText = "this build has no embedded Temporal server or Postgres (built with -tags noembed): " +
		"set DATABASE_URL and TEMPORAL_ADDRESS, or use the full build"
)

// goCommand is the go command of the toolchain running the tests.
func goCommand(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no go command on PATH or in GOROOT: %v", err)
	}
	return p
}

// deps lists the packages the binary links, with the build tags given.
func deps(t *testing.T, tags string) map[string]bool {
	t.Helper()
	args := []string{"list", "-deps"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command(goCommand(t), append(args, "./cmd/recovery")...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %v: %v", args, err)
	}
	set := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		set[p] = true
	}
	return set
}

// The production binary links neither the embedded Temporal server nor
// the private Postgres; the full one links both (so that the check below
// would see them).
func TestNoembedLeavesOutTheServer(t *testing.T) {
	embedded := func(pkgs map[string]bool) []string {
		var found []string
		for p := range pkgs {
			if strings.HasPrefix(p, "go.temporal.io/server/") || p == "go.temporal.io/server" ||
				strings.HasSuffix(p, "/internal/pgcluster") || strings.HasSuffix(p, "/internal/devstack") {
				found = append(found, p)
			}
		}
		return found
	}
	if found := embedded(deps(t, prodTags)); len(found) > 0 {
		t.Errorf("-tags %s links %d packages of the embedded server or cluster, e.g. %v", prodTags, len(found), found[:min(5, len(found))])
	}
	full := embedded(deps(t, ""))
	if len(full) < 100 {
		t.Errorf("the full build links %d packages of the server and cluster: is the check above still looking?", len(full))
	}
}

// The Dockerfile and the Makefile build the binary as this package does.
func TestDockerfile(t *testing.T) {
	df := dockerInstructions(t, readFile(t, "Dockerfile"))
	var stages []string
	for _, in := range df {
		if in.cmd == "FROM" {
			stages = append(stages, in.args)
		}
	}
	if len(stages) != 2 || !strings.HasPrefix(stages[0], "--platform=$BUILDPLATFORM golang:${GO_VERSION} AS ") ||
		stages[1] != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("stages %q: want a golang builder and gcr.io/distroless/static-debian12:nonroot", stages)
	}
	final := map[string][]string{} // the last stage's instructions
	for _, in := range df {
		if in.cmd == "FROM" {
			final = map[string][]string{}
		}
		final[in.cmd] = append(final[in.cmd], in.args)
	}
	want := map[string]string{
		"USER":       "nonroot:nonroot",
		"ENTRYPOINT": `["/recovery"]`,
		"CMD":        `["serve"]`,
		"EXPOSE":     "8080",
		"COPY":       "--from=build /out/recovery /recovery",
	}
	for cmd, args := range want {
		if got := final[cmd]; len(got) != 1 || got[0] != args {
			t.Errorf("final stage: %s %q, want %s %s", cmd, got, cmd, args)
		}
	}
	if hc := final["HEALTHCHECK"]; len(hc) != 1 || !strings.HasSuffix(hc[0], `CMD ["/recovery", "healthcheck"]`) {
		t.Errorf("HEALTHCHECK %q, want the binary's own probe", hc)
	}
	if env := strings.Join(final["ENV"], " "); !strings.Contains(env, "RECOVERY_ADDR=0.0.0.0:8080") {
		t.Errorf("ENV %q: the API must listen beyond the container's loopback", env)
	}
	labels := strings.Join(final["LABEL"], " ")
	for _, l := range []string{"org.opencontainers.image.title", "org.opencontainers.image.source", "org.opencontainers.image.version",
		"org.opencontainers.image.revision"} {
		if !strings.Contains(labels, l+"=") {
			t.Errorf("no %s label", l)
		}
	}
	var build string
	for _, in := range df {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			build = in.args
		}
	}
	for _, s := range []string{"--mount=type=cache,target=/go/pkg/mod", "--mount=type=cache,target=/root/.cache/go-build",
		"CGO_ENABLED=0", "go build " + prodFlags + " -o /out/recovery ./cmd/recovery"} {
		if !strings.Contains(build, s) {
			t.Errorf("the builder's go build %q lacks %q", build, s)
		}
	}
	if mk := readFile(t, "Makefile"); !strings.Contains(mk, "CGO_ENABLED=0 $(GO) build "+prodFlags+" -o /dev/null ./cmd/recovery") {
		t.Errorf("Makefile: no build-prod with %s", prodFlags)
	}
	checkDockerignore(t)
}

type instruction struct{ cmd, args string }

// dockerInstructions splits a Dockerfile into instructions: comments
// dropped, continuation lines joined.
func dockerInstructions(t *testing.T, src string) []instruction {
	t.Helper()
	var out []instruction
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(src))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if more, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(strings.TrimSpace(more) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// checkDockerignore checks that .dockerignore leaves in every file the
// production build reads: go.mod, go.sum, and each package's Go and
// embedded files.
func checkDockerignore(t *testing.T) {
	t.Helper()
	var patterns []string
	for _, line := range strings.Split(readFile(t, ".dockerignore"), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") || strings.Contains(line, "[") {
			t.Fatalf(".dockerignore: %q: this check knows plain, * and **/ patterns only", line)
		}
		patterns = append(patterns, path.Clean(strings.TrimPrefix(line, "/")))
	}
	cmd := exec.Command(goCommand(t), "list", "-deps", "-tags", prodTags, "-json=Dir,Module,GoFiles,EmbedFiles,SFiles", "./cmd/recovery")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	rootDir := mustAbs(t, root)
	needed := []string{"go.mod", "go.sum"}
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p struct {
			Dir                         string
			Module                      *struct{ Main bool }
			GoFiles, EmbedFiles, SFiles []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		rel, err := filepath.Rel(rootDir, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range append(append(p.GoFiles, p.EmbedFiles...), p.SFiles...) {
			needed = append(needed, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if len(needed) < 50 {
		t.Fatalf("the build reads %d files of the module: is go list still answering?", len(needed))
	}
	for _, f := range needed {
		if p := ignoredBy(patterns, f); p != "" {
			t.Errorf(".dockerignore: %q leaves out %s, which the build reads", p, f)
		}
	}
	// And it does leave out what it says (a check that matches nothing
	// would pass the loop above).
	for _, f := range []string{".git/HEAD", "deploy/compose/compose.yaml", "internal/store/store_test.go",
		"workflows/testdata/corpus/x.json", "README.md", "Dockerfile"} {
		if ignoredBy(patterns, f) == "" {
			t.Errorf(".dockerignore keeps %s", f)
		}
	}
}

// ignoredBy returns the pattern that excludes file (a slash path from the
// context's root), or "": a pattern excludes what it matches and what is
// under it; "**/" matches any number of directories.
func ignoredBy(patterns []string, file string) string {
	parts := strings.Split(file, "/")
	for i := range parts {
		prefix := strings.Join(parts[:i+1], "/")
		for _, p := range patterns {
			if matchPattern(p, prefix) {
				return p
			}
		}
	}
	return ""
}

func matchPattern(pattern, name string) bool {
	if rest, ok := strings.CutPrefix(pattern, "**/"); ok {
		for {
			if matchPattern(rest, name) {
				return true
			}
			_, after, found := strings.Cut(name, "/")
			if !found {
				return false
			}
			name = after
		}
	}
	ok, _ := path.Match(pattern, name)
	return ok
}

// TestProductionBinary builds the binary as the image does and runs it as
// the image runs it: as an unprivileged user (the image's is nonroot), in a
// directory it cannot write (a read-only root), with nothing in its
// environment but its settings (no HOME, no PATH).
func TestProductionBinary(t *testing.T) {
	bin := buildProduction(t)
	if f, err := elf.Open(bin); err != nil {
		t.Fatal(err)
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("the binary is dynamically linked (%s): distroless/static has no libc", p.Type)
			}
		}
		f.Close()
	}

	t.Run("migrate", func(t *testing.T) {
		dbURL := ownDatabase(t)
		for i, want := range []string{"applied", "applied 0 migration(s)"} { // the hook runs on every upgrade
			out, code := runBinary(t, bin, []string{"DATABASE_URL=" + dbURL}, "migrate")
			if code != 0 || !strings.Contains(out, want) || i == 0 && strings.Contains(out, "applied 0") {
				t.Fatalf("migrate (run %d): exit %d, output %q; want %q", i+1, code, out, want)
			}
		}
	})

	t.Run("healthcheck unreachable", func(t *testing.T) {
		out, code := runBinary(t, bin, nil, "healthcheck", "http://"+closedAddr(t)+"/readyz")
		if code != 1 || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, "unhealthy") {
			t.Fatalf("exit %d, output %q; want 1 and one line", code, out)
		}
	})

	t.Run("dev and bench say what the build lacks", func(t *testing.T) {
		for _, args := range [][]string{{"dev"}, {"bench"}} {
			for _, env := range [][]string{nil, {"DATABASE_URL=postgres://x@127.0.0.1:1/x"}, {"TEMPORAL_ADDRESS=127.0.0.1:1"}} {
				out, code := runBinary(t, bin, env, args...)
				if code != 1 || !strings.Contains(out, noEmbedText) {
					t.Errorf("%s with %v: exit %d, output %q; want 1 and %q", args[0], env, code, out, noEmbedText)
				}
			}
		}
	})

	t.Run("dev with Postgres and Temporal given", func(t *testing.T) {
		addr := closedAddr(t)
		env := []string{"DATABASE_URL=" + ownDatabase(t), "TEMPORAL_ADDRESS=" + closedAddr(t), "RECOVERY_ADDR=" + addr}
		dev := startBinary(t, bin, env, "dev")
		deadline := time.Now().Add(30 * time.Second)
		for {
			// The binary's own probe, as the image's HEALTHCHECK runs it.
			out, code := runBinary(t, bin, []string{"RECOVERY_ADDR=" + addr}, "healthcheck", "http://"+addr+"/healthz")
			if code == 0 && strings.HasPrefix(out, "healthy: ") {
				break
			}
			if time.Now().After(deadline) || dev.exited() {
				t.Fatalf("dev never answered /healthz: %s\ndev said:\n%s", out, dev.output())
			}
			time.Sleep(200 * time.Millisecond)
		}
		if code, out := dev.stop(t); code != 0 || !strings.Contains(out, "Recovery dev stack is up") {
			t.Fatalf("dev: exit %d after SIGTERM:\n%s", code, out)
		}
	})
}

// buildProduction builds the binary as the Dockerfile does into a
// directory the unprivileged user can read.
func buildProduction(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "recovery-prod-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "recovery")
	cmd := exec.Command(goCommand(t), "build", "-tags", prodTags, "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/recovery")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build %s: %v\n%s", prodFlags, err, out)
	}
	t.Logf("built the production binary in %s", time.Since(start).Round(time.Second))
	return bin
}

// ownDatabase creates a database owned by a role of its own, no
// superuser, as a managed Postgres (and compose.yaml) gives Recovery.
func ownDatabase(t *testing.T) string {
	t.Helper()
	pg := pgtest.Cluster(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("app%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	for _, sql := range []string{
		"CREATE ROLE " + name + " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'app-password'",
		"CREATE DATABASE " + name + " OWNER " + name,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	return fmt.Sprintf("postgres://%s:app-password@%s/%s?sslmode=disable", name, net.JoinHostPort(pg.Host(), strconv.Itoa(pg.Port())), name)
}

// closedAddr is a loopback address nothing listens on (yet).
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// asImage prepares cmd to run as the image runs the binary: as an
// unprivileged user when the tests run as root (the user pgcluster runs
// Postgres as), from an empty directory it cannot write, with env alone.
func asImage(t *testing.T, cmd *exec.Cmd, env []string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "recovery-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700); os.RemoveAll(dir) }) //nolint:errcheck
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	cmd.Dir = dir
	cmd.Env = append([]string{}, env...) // nothing inherited: no HOME, no PATH
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		if u, err = user.Lookup("nobody"); err != nil {
			t.Fatal("running as root needs an unprivileged user to run the binary as: create a 'postgres' user")
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
}

// runBinary runs the binary to completion and returns its output and exit
// status.
func runBinary(t *testing.T, bin string, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	asImage(t, cmd, env)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit) && exit.Exited():
		return string(out), exit.ExitCode()
	}
	t.Fatalf("recovery %v: %v\n%s", args, err, out)
	return "", -1
}

// proc is a running binary.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func startBinary(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	asImage(t, p.cmd, env)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }() //nolint:errcheck
	t.Cleanup(func() {
		if !p.exited() {
			p.cmd.Process.Kill() //nolint:errcheck
			<-p.done
		}
	})
	return p
}

// stop sends SIGTERM, as a container runtime does, and waits up to 20s.
func (p *proc) stop(t *testing.T) (int, string) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("still running 20s after SIGTERM:\n%s", p.output())
	}
	return p.cmd.ProcessState.ExitCode(), p.output()
}
