package docexamples_test

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"customerd/internal/docexamples"
)

var update = flag.Bool("update", false, "rewrite the output blocks of the examples whose output differs")

// root is the repository, two levels up from this package.
const root = "../.."

// blockTimeout bounds every example, and the start of a server.
const blockTimeout = 60 * time.Second

// TestDocExamples runs the examples of README.md and docs/*.md, page by
// page, in order, against a new customerd, and compares what each prints
// with the output block the page shows (see the package comment for the
// markup). With -update it writes what they printed into the pages instead.
func TestDocExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the doc examples build and start customerd")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatalf("the doc examples run in bash: %v", err)
	}
	pages, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	pages = append([]string{filepath.Join(root, "README.md")}, pages...)
	parsed := map[string][]docexamples.Block{}
	tools := map[string]bool{}
	for _, p := range pages {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		blocks, err := docexamples.Parse(string(src))
		if err != nil {
			t.Fatalf("%s: %v", rel(p), err)
		}
		parsed[p] = blocks
		for _, b := range blocks {
			if b.Kind == docexamples.Run || b.Kind == docexamples.Server {
				for _, tool := range []string{"grpcurl", "buf", "curl", "jq", "openssl"} {
					if regexp.MustCompile(`(^|[\s|;(])` + tool + `\s`).MatchString(b.Code) {
						tools[tool] = true
					}
				}
			}
		}
	}
	trackSources(t)
	bin := buildCommands(t, tools)

	total := 0
	for _, p := range pages {
		var n int
		for _, b := range parsed[p] {
			if b.Kind == docexamples.Run || b.Kind == docexamples.Server {
				n += docexamples.Commands(b.Code)
			} else if b.Kind == docexamples.Program {
				n++
			}
		}
		if n == 0 {
			continue
		}
		total += n
		t.Run(rel(p), func(t *testing.T) {
			runPage(t, p, parsed[p], bin)
			t.Logf("%d commands", n)
		})
	}
	t.Logf("%d commands in %d pages", total, len(pages))
}

// trackSources reads every file the commands are built from. go test
// caches a passing test by what the test binary itself opened, and this
// binary builds customerd and customerctl in another process: without this,
// a change to them alone would leave go test ./... answering from its cache.
func trackSources(t *testing.T) {
	for _, dir := range []string{"cmd", "internal", "gen", "db", "proto", "third_party"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			_, err = os.ReadFile(path)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"go.mod", "go.sum", "tools/go.mod", "tools/go.sum", ".gitignore"} {
		if _, err := os.ReadFile(filepath.Join(root, f)); err != nil {
			t.Fatal(err)
		}
	}
}

// rel names a page as the failures do: relative to the repository.
func rel(p string) string {
	r, _ := filepath.Rel(root, p)
	return r
}

// buildCommands builds customerd and customerctl into a directory for
// PATH, with the tools pinned in tools/go.mod that the examples use.
func buildCommands(t *testing.T, tools map[string]bool) string {
	bin := t.TempDir()
	build := func(args ...string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-o", bin + string(filepath.Separator)}, args...)...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	build("./cmd/customerd", "./cmd/customerctl")
	for tool := range tools {
		if tool != "grpcurl" && tool != "buf" {
			if _, err := exec.LookPath(tool); err != nil {
				t.Fatalf("the doc examples use %s; install it: %v", tool, err)
			}
			continue
		}
		// go tool -n builds the tool pinned in tools/go.mod (once: it is
		// kept in the build cache) and prints where it is.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		cmd := exec.CommandContext(ctx, "go", "tool", "-modfile=tools/go.mod", "-n", tool)
		cmd.Dir = root
		out, err := cmd.Output()
		cancel()
		if err != nil {
			t.Fatalf("the doc examples use %s: go tool -modfile=tools/go.mod -n %s: %v", tool, tool, err)
		}
		if err := os.Symlink(strings.TrimSpace(string(out)), filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

// page is what the examples of one page run with.
type page struct {
	t       *testing.T
	name    string
	dir     string // the working directory of the examples
	scratch string // the test's own files: scripts, outputs, logs
	ports   map[string]string
	shell   *exec.Cmd
	stdin   io.Writer
	done    chan string // the lines the shell prints
	env     []string
}

var address = regexp.MustCompile(`\b(127\.0\.0\.1|localhost):(\d{4,5})\b`)

func runPage(t *testing.T, path string, blocks []docexamples.Block, bin string) {
	p := &page{t: t, name: rel(path), dir: t.TempDir(), scratch: t.TempDir(), ports: map[string]string{}}
	// The examples assume the defaults: none of the caller's settings of
	// customerd or customerctl.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CUSTOMERD_") && !strings.HasPrefix(kv, "CUSTOMERCTL_") {
			p.env = append(p.env, kv)
		}
	}
	p.env = append(p.env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "NO_COLOR=1")

	// The server the page assumes runs on 127.0.0.1:8080 with ./customers.db.
	port := p.startCustomerd(filepath.Join(bin, "customerd"))
	p.ports["8080"] = port
	p.env = append(p.env, "CUSTOMERCTL_SERVER=http://127.0.0.1:"+port)
	for _, b := range blocks {
		for _, m := range address.FindAllStringSubmatch(b.Code, -1) {
			if _, ok := p.ports[m[2]]; !ok {
				p.ports[m[2]] = freePort(t)
			}
		}
	}
	p.startShell()

	outputs := map[int]string{}
	for _, b := range blocks {
		var got string
		var err error
		switch b.Kind {
		case docexamples.NoRun:
			continue
		case docexamples.Server:
			p.startServer(b)
			continue
		case docexamples.Run:
			got, err = p.run(b)
		case docexamples.Program:
			got, err = p.program(b)
		}
		if err != nil {
			t.Fatalf("%s:%d: %v", p.name, b.Line, err)
		}
		want := ""
		if b.Output != nil {
			want = b.Output.Want
		}
		if docexamples.Match(want, got) {
			continue
		}
		if *update {
			outputs[b.Line] = got
			continue
		}
		where := fmt.Sprintf("%s:%d", p.name, b.Line)
		if b.Output != nil {
			where += fmt.Sprintf(" (output block at line %d)", b.Output.Line)
		} else {
			where += " (no output block follows it, so it must print nothing)"
		}
		t.Errorf("%s: the example's output differs (-docs +got, masked; go test ./internal/docexamples -update writes what it got):\n%s\nthe example:\n%s",
			where, indent(docexamples.Diff(want, got)), indent(b.Code))
	}
	p.checkIgnored()
	if *update && len(outputs) > 0 {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(docexamples.Rewrite(string(src), blocks, outputs)), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %d output blocks of %s", len(outputs), p.name)
	}
}

// checkIgnored checks that git ignores every file the page's examples
// made, so that running them in the repository leaves it clean.
func (p *page) checkIgnored() {
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		p.t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) == 0 {
		return
	}
	cmd := exec.Command("git", "check-ignore", "--stdin")
	cmd.Dir, cmd.Stdin = root, strings.NewReader(strings.Join(names, "\n")+"\n")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) { // 1: none is ignored
		p.t.Logf("not checking .gitignore (no git repository?): %v", err)
		return
	}
	ignored := strings.Fields(string(out))
	for _, n := range names {
		if !slices.Contains(ignored, n) {
			p.t.Errorf("%s: the examples make %s, which .gitignore does not cover: add /%s", p.name, n, n)
		}
	}
}

func indent(s string) string {
	return "\t" + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n\t")
}

// freePort returns a port nothing listens on now.
func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// toTest moves the page's addresses to the test's ports; fromTest moves
// them back.
func (p *page) toTest(s string) string {
	return address.ReplaceAllStringFunc(s, func(a string) string {
		host, port, _ := strings.Cut(a, ":")
		return host + ":" + p.ports[port]
	})
}

func (p *page) fromTest(s string) string {
	for doc, test := range p.ports {
		s = regexp.MustCompile(`\b(127\.0\.0\.1|localhost):`+test+`\b`).ReplaceAllString(s, "${1}:"+doc)
	}
	return s
}

// startCustomerd starts customerd in the page's directory on a free port
// and returns the port once it serves.
func (p *page) startCustomerd(path string) string {
	t := p.t
	logPath := filepath.Join(p.scratch, "customerd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "-addr", "127.0.0.1:0")
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = p.dir, p.env, logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logFile.Close(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	listening := regexp.MustCompile(`listening on http://127\.0\.0\.1:(\d+)`)
	deadline := time.Now().Add(blockTimeout)
	for {
		log, _ := os.ReadFile(logPath)
		if m := listening.FindSubmatch(log); m != nil {
			return string(m[1])
		}
		select {
		case <-exited:
			t.Fatalf("customerd exited at start:\n%s", log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("customerd did not serve within %v:\n%s", blockTimeout, log)
		}
	}
}

// startShell starts the bash that runs the page's examples, in a process
// group of its own, so that the servers its examples start end with it.
func (p *page) startShell() {
	t := p.t
	p.shell = exec.Command("bash", "--noprofile", "--norc")
	p.shell.Dir, p.shell.Env = p.dir, p.env
	p.shell.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := p.shell.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := p.shell.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	p.shell.Stderr = &stderr
	if err := p.shell.Start(); err != nil {
		t.Fatal(err)
	}
	p.stdin, p.done = stdin, make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.done <- sc.Text()
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		stdin.Close()
		syscall.Kill(-p.shell.Process.Pid, syscall.SIGTERM)
		waited := make(chan error, 1)
		go func() { waited <- p.shell.Wait() }()
		select {
		case <-waited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-p.shell.Process.Pid, syscall.SIGKILL)
			<-waited
		}
	})
}

// shellRun has the shell source script with its output in out, and waits
// for it to finish.
func (p *page) shellRun(script, out string, background bool) error {
	line := fmt.Sprintf(". '%s' >'%s' 2>&1 </dev/null; echo \"@@done $?\"\n", script, out)
	if background {
		line = fmt.Sprintf("( . '%s' ) >'%s' 2>&1 </dev/null & echo \"@@done $?\"\n", script, out)
	}
	if _, err := io.WriteString(p.stdin, line); err != nil {
		return fmt.Errorf("the shell is gone: %v", err)
	}
	timeout := time.After(blockTimeout)
	for {
		select {
		case l, ok := <-p.done:
			if !ok {
				return errors.New("the shell exited (did the example run exit?)")
			}
			if strings.HasPrefix(l, "@@done ") {
				return nil
			}
		case <-timeout:
			partial, _ := os.ReadFile(out)
			return fmt.Errorf("the example did not finish within %v; its output so far:\n%s", blockTimeout, partial)
		}
	}
}

// run runs a shell example and returns what it printed.
func (p *page) run(b docexamples.Block) (string, error) {
	script := filepath.Join(p.scratch, fmt.Sprintf("line%d.sh", b.Line))
	out := filepath.Join(p.scratch, fmt.Sprintf("line%d.out", b.Line))
	if err := os.WriteFile(script, []byte(p.toTest(b.Code)), 0o644); err != nil {
		return "", err
	}
	if err := p.shellRun(script, out, false); err != nil {
		return "", err
	}
	got, err := os.ReadFile(out)
	return p.fromTest(strings.ReplaceAll(string(got), "\r\n", "\n")), err
}

// startServer runs a server example in the background and waits until
// every address it names accepts connections.
func (p *page) startServer(b docexamples.Block) {
	t := p.t
	script := filepath.Join(p.scratch, fmt.Sprintf("line%d.sh", b.Line))
	out := filepath.Join(p.scratch, fmt.Sprintf("line%d.out", b.Line))
	code := p.toTest(b.Code)
	if err := os.WriteFile(script, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.shellRun(script, out, true); err != nil {
		t.Fatalf("%s:%d: %v", p.name, b.Line, err)
	}
	addrs := slices.Compact(slices.Sorted(slices.Values(address.FindAllString(code, -1))))
	if len(addrs) == 0 {
		t.Fatalf("%s:%d: a server example must name the address it listens on (127.0.0.1:PORT or localhost:PORT)", p.name, b.Line)
	}
	deadline := time.Now().Add(blockTimeout)
	for _, a := range addrs {
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(out)
				t.Fatalf("%s:%d: the server did not accept connections on %s within %v; its output:\n%s", p.name, b.Line, p.fromTest(a), blockTimeout, p.fromTest(string(log)))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// program builds and runs a Go example in a module of its own that
// requires customerd from this repository, offline: with the repository's
// go.sum and the module cache, without a proxy.
func (p *page) program(b docexamples.Block) (string, error) {
	dir := filepath.Join(p.scratch, fmt.Sprintf("line%d", b.Line))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	goLine := regexp.MustCompile(`(?m)^go \S+$`).Find(goMod)
	mod := fmt.Sprintf("module example\n\n%s\n\nrequire customerd v0.0.0\n\nreplace customerd => %s\n", goLine, abs)
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return "", err
	}
	for name, content := range map[string]string{"go.mod": mod, "go.sum": string(sum), "main.go": p.toTest(b.Code)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*blockTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", ".")
	cmd.Dir = dir
	cmd.Env = append(slices.Clone(p.env), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return "", fmt.Errorf("the program did not finish within %v:\n%s", 3*blockTimeout, out)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return "", err
	}
	return p.fromTest(string(out)), nil
}
