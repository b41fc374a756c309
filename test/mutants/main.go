// Command mutants runs Loom's curated mutation tests: each mutant of
// mutants.txt changes one critical line, and the tests named for it must
// fail. A mutant whose tests still pass survived: the behaviour its line
// guards is untested.
//
// A mutant names its line by an exact snippet of the file (unique in it),
// never by a line number, so the list survives edits; a snippet no longer
// found is an error, so a stale list fails loudly. The mutated file is
// handed to the go command through an overlay (GOFLAGS=-overlay=...), which
// leaves the work tree untouched and reaches the binaries the tests of
// cmd/loom build with go build themselves.
//
//	go run ./test/mutants [-j 2] [-only REGEXP] [-list] [-no-baseline] [FILE]
//
// It exits 1 when a mutant survived or could not be run, 2 on bad usage.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// mutant is one entry of the list.
type mutant struct {
	name    string
	file    string    // relative to the module root
	tests   []testCmd // run in order until one fails
	orig    []string  // lines of the snippet to find, leading whitespace ignored
	repl    []string  // lines that replace it
	line    int       // where the entry starts in the list, for messages
	srcLine int       // where the snippet was found in file
}

// testCmd is one go test run: packages and an optional -run filter.
type testCmd struct {
	pkgs []string
	run  string // "" for every test
}

func (t testCmd) String() string {
	s := strings.Join(t.pkgs, " ")
	if t.run != "" {
		s += " -run '" + t.run + "'"
	}
	return s
}

// verdict is what running a mutant's tests said.
type verdict string

const (
	killed   verdict = "KILLED"
	survived verdict = "SURVIVED"
	failed   verdict = "ERROR"
)

type outcome struct {
	m       *mutant
	v       verdict
	by      string // the failing tests, or why it is an error
	elapsed time.Duration
}

func main() {
	jobs := flag.Int("j", 1, "mutants run at once")
	only := flag.String("only", "", "run only the mutants whose name matches this regexp")
	list := flag.Bool("list", false, "list the mutants and check that every snippet is found, without running tests")
	noBaseline := flag.Bool("no-baseline", false, "skip checking that the named tests pass on the unmutated code")
	timeout := flag.Duration("timeout", 5*time.Minute, "go test -timeout for each run")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run ./test/mutants [flags] [mutants.txt]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 1 || *jobs < 1 {
		flag.Usage()
		os.Exit(2)
	}
	root, err := moduleRoot()
	if err != nil {
		fatal(err)
	}
	listFile := filepath.Join(root, "test", "mutants", "mutants.txt")
	if flag.NArg() == 1 {
		listFile = flag.Arg(0)
	}
	ms, err := parseFile(listFile)
	if err != nil {
		fatal(err)
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fatal(fmt.Errorf("-only: %v", err))
		}
		var kept []*mutant
		for _, m := range ms {
			if re.MatchString(m.name) {
				kept = append(kept, m)
			}
		}
		ms = kept
	}
	if len(ms) == 0 {
		fatal(errors.New("no mutants to run"))
	}
	tmp, err := os.MkdirTemp("", "loom-mutants-")
	if err != nil {
		fatal(err)
	}
	if strings.ContainsAny(tmp, " \t\n'\"") {
		// GOFLAGS separates its flags by spaces.
		os.RemoveAll(tmp)
		fatal(fmt.Errorf("the temporary folder %q has a space or quote, which GOFLAGS cannot carry: set TMPDIR", tmp))
	}
	// Every exit below goes through exit, which removes tmp first.
	exit := func(code int) {
		os.RemoveAll(tmp)
		os.Exit(code)
	}

	start := time.Now()
	// Every snippet is looked up before any test runs: a stale list fails
	// at once, whole.
	var stale []string
	overlays := make([]string, len(ms))
	for i, m := range ms {
		if overlays[i], err = writeMutant(root, tmp, i, m); err != nil {
			stale = append(stale, fmt.Sprintf("%s:%d: %s: %v", listFile, m.line, m.name, err))
		}
	}
	if len(stale) > 0 {
		fmt.Fprintln(os.Stderr, "mutants: the list no longer matches the code (update test/mutants/mutants.txt):")
		for _, s := range stale {
			fmt.Fprintln(os.Stderr, "  "+s)
		}
		exit(1)
	}
	if *list {
		for _, m := range ms {
			fmt.Printf("%-28s %s:%d  %s\n", m.name, m.file, m.srcLine, testsOf(m))
		}
		fmt.Printf("%d mutants, every snippet found\n", len(ms))
		exit(0)
	}

	// An interrupt stops the go test runs and still removes tmp.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	interrupted := func() {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "mutants: interrupted")
			exit(130)
		}
	}
	if !*noBaseline {
		if errs := baseline(ctx, root, ms, *jobs, *timeout); len(errs) > 0 {
			interrupted()
			fmt.Fprintln(os.Stderr, "mutants: the named tests fail without any mutation, so no mutant can be judged:")
			for _, e := range errs {
				fmt.Fprintln(os.Stderr, "  "+e)
			}
			exit(1)
		}
	}

	results := make([]outcome, len(ms))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
		next = make(chan int)
	)
	for w := 0; w < *jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				o := runMutant(ctx, root, ms[i], overlays[i], *timeout)
				if ctx.Err() != nil {
					continue // interrupted: the run's verdict means nothing
				}
				mu.Lock()
				results[i] = o
				done++
				fmt.Printf("[%2d/%d] %-8s %-28s %s:%d  %5.1fs  %s\n", done, len(ms), o.v, o.m.name, o.m.file, o.m.srcLine, o.elapsed.Seconds(), o.by)
				mu.Unlock()
			}
		}()
	}
send:
	for i := range ms {
		select {
		case next <- i:
		case <-ctx.Done():
			break send
		}
	}
	close(next)
	wg.Wait()
	interrupted()

	count := map[verdict]int{}
	for _, o := range results {
		count[o.v]++
	}
	fmt.Println()
	if count[survived]+count[failed] > 0 {
		fmt.Println("Not killed (the behaviour these lines guard is untested, or the mutant could not run):")
		for _, o := range results {
			if o.v != killed {
				fmt.Printf("  %-8s %-28s %s:%d  %s\n", o.v, o.m.name, o.m.file, o.m.srcLine, testsOf(o.m))
				if o.v == failed {
					fmt.Printf("           %s\n", o.by)
				}
			}
		}
		fmt.Println()
	}
	fmt.Printf("mutants: %d killed, %d survived, %d errors of %d in %s\n",
		count[killed], count[survived], count[failed], len(ms), time.Since(start).Round(time.Second))
	if count[survived]+count[failed] > 0 {
		exit(1)
	}
	exit(0)
}

// testsOf describes the test runs of m.
func testsOf(m *mutant) string {
	var parts []string
	for _, t := range m.tests {
		parts = append(parts, "go test "+t.String())
	}
	return strings.Join(parts, "; ")
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mutants:", err)
	os.Exit(1)
}

// moduleRoot is the folder of the go.mod the go command sees from here.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside a Go module: run from Loom's checkout")
	}
	return filepath.Dir(mod), nil
}

// parseFile reads the list. Its format, line by line:
//
//	# a comment, or a blank line
//	== NAME FILE            starts a mutant of FILE (relative to the module root)
//	test PKG... [-run RE]   packages whose tests must kill it, optionally only
//	                        the tests RE matches; several test lines run in
//	                        order until one fails
//	- CODE                  a line of the snippet to replace (leading whitespace ignored)
//	+ CODE                  a line of its replacement (none: the snippet is deleted)
func parseFile(name string) ([]*mutant, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		ms    []*mutant
		cur   *mutant
		names = map[string]bool{}
		n     int
	)
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s:%d: %s", name, n, fmt.Sprintf(format, a...))
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), " \t\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "== "); ok {
			fields := strings.Fields(rest)
			if len(fields) != 2 {
				return nil, bad("want \"== NAME FILE\"")
			}
			if names[fields[0]] {
				return nil, bad("mutant %s is named twice", fields[0])
			}
			names[fields[0]] = true
			cur = &mutant{name: fields[0], file: fields[1], line: n}
			ms = append(ms, cur)
			continue
		}
		if cur == nil {
			return nil, bad("a mutant starts with \"== NAME FILE\"")
		}
		switch {
		case line == "-" || strings.HasPrefix(line, "- "):
			if len(cur.repl) > 0 {
				return nil, bad("a snippet line after its replacement")
			}
			cur.orig = append(cur.orig, strings.TrimSpace(strings.TrimPrefix(line, "-")))
		case line == "+" || strings.HasPrefix(line, "+ "):
			cur.repl = append(cur.repl, strings.TrimPrefix(strings.TrimPrefix(line, "+"), " "))
		case strings.HasPrefix(line, "test "):
			var t testCmd
			fields := strings.Fields(strings.TrimPrefix(line, "test "))
			for i := 0; i < len(fields); i++ {
				switch {
				case fields[i] == "-run" && i+1 < len(fields):
					i++
					t.run = fields[i]
					if _, err := regexp.Compile(t.run); err != nil {
						return nil, bad("-run: %v", err)
					}
				case strings.HasPrefix(fields[i], "-"):
					return nil, bad("test takes packages and -run REGEXP only, not %s", fields[i])
				default:
					t.pkgs = append(t.pkgs, fields[i])
				}
			}
			if len(t.pkgs) == 0 {
				return nil, bad("test names no package")
			}
			cur.tests = append(cur.tests, t)
		default:
			return nil, bad("cannot read %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, m := range ms {
		switch {
		case len(m.tests) == 0:
			return nil, fmt.Errorf("%s:%d: mutant %s names no tests (test PKG...)", name, m.line, m.name)
		case len(m.orig) == 0:
			return nil, fmt.Errorf("%s:%d: mutant %s has no snippet (- CODE)", name, m.line, m.name)
		}
	}
	return ms, nil
}

// writeMutant writes the mutated copy of m's file and the overlay naming
// it, and returns the overlay's path.
func writeMutant(root, tmp string, i int, m *mutant) (string, error) {
	path := filepath.Join(root, filepath.FromSlash(m.file))
	src, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	re := snippetRegexp(m.orig)
	locs := re.FindAllIndex(src, -1)
	switch len(locs) {
	case 0:
		return "", fmt.Errorf("snippet NOT FOUND in %s: %q", m.file, strings.Join(m.orig, "\n"))
	case 1:
	default:
		return "", fmt.Errorf("snippet found %d times in %s, want once (quote more of it): %q", len(locs), m.file, strings.Join(m.orig, "\n"))
	}
	at := locs[0]
	m.srcLine = 1 + strings.Count(string(src[:at[0]]), "\n")
	mutated := string(src[:at[0]]) + strings.Join(m.repl, "\n") + string(src[at[1]:])
	dir := filepath.Join(tmp, fmt.Sprint(i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	copyPath := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(copyPath, []byte(mutated), 0o644); err != nil {
		return "", err
	}
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {path: copyPath}})
	if err != nil {
		return "", err
	}
	overlayPath := filepath.Join(dir, "overlay.json")
	return overlayPath, os.WriteFile(overlayPath, overlay, 0o644)
}

// snippetRegexp matches the lines of a snippet in order, whatever the
// indentation of each, starting and ending anywhere within a line.
func snippetRegexp(lines []string) *regexp.Regexp {
	quoted := make([]string, len(lines))
	for i, l := range lines {
		quoted[i] = regexp.QuoteMeta(l)
	}
	return regexp.MustCompile(strings.Join(quoted, `[ \t]*\r?\n[ \t]*`))
}

func testArgs(t testCmd, timeout time.Duration) []string {
	args := []string{"test", "-count=1", "-failfast", "-vet=off", "-timeout", timeout.String()}
	if t.run != "" {
		args = append(args, "-run", t.run)
	}
	return append(args, t.pkgs...)
}

// goTest runs go test with overlay (none when "") and returns whether it
// passed, and its output.
func goTest(ctx context.Context, root string, t testCmd, overlay string, timeout time.Duration) (bool, string) {
	cmd := exec.CommandContext(ctx, "go", testArgs(t, timeout)...)
	cmd.Dir = root
	// go test and the test binaries it starts are one process group, ended
	// whole when ctx is (an interrupt).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = os.Environ()
	if overlay != "" {
		// Through the environment, so the go build that cmd/loom's tests
		// run to make the binary sees the mutant too.
		cmd.Env = append(cmd.Env, "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -overlay="+overlay))
	}
	out, err := cmd.CombinedOutput()
	return err == nil, string(out)
}

var (
	failLine    = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)
	buildFailed = regexp.MustCompile(`\[(build|setup) failed\]`)
	okLine      = regexp.MustCompile(`(?m)^ok\s+\S+.*$`)
	panicked    = regexp.MustCompile(`(?m)^panic: (.*)$`)
)

// ranNothing reports whether a passing go test ran no test at all: a
// stale -run filter would let every mutant survive unnoticed.
func ranNothing(out string) bool {
	for _, l := range okLine.FindAllString(out, -1) {
		if !strings.Contains(l, "[no tests to run]") {
			return false
		}
	}
	return true
}

func runMutant(ctx context.Context, root string, m *mutant, overlay string, timeout time.Duration) outcome {
	start := time.Now()
	o := outcome{m: m, v: survived}
	for _, t := range m.tests {
		ok, out := goTest(ctx, root, t, overlay, timeout)
		switch {
		case buildFailed.MatchString(out):
			o.v, o.by = failed, "the mutant does not compile: "+firstLines(out, 4)
		case !ok:
			o.v, o.by = killed, failedTests(out)
		case ranNothing(out):
			o.v, o.by = failed, "no test ran: go test "+t.String()
		}
		if o.v != survived {
			break
		}
	}
	o.elapsed = time.Since(start)
	return o
}

// failedTests names what failed: the deepest tests, or a panic.
func failedTests(out string) string {
	var names []string
	seen := map[string]bool{}
	for _, sm := range failLine.FindAllStringSubmatch(out, -1) {
		if !seen[sm[1]] {
			seen[sm[1]] = true
			names = append(names, sm[1])
		}
	}
	// A parent test fails with its subtests: keep the subtests.
	var leaves []string
	for _, n := range names {
		leaf := true
		for _, o := range names {
			if strings.HasPrefix(o, n+"/") {
				leaf = false
				break
			}
		}
		if leaf {
			leaves = append(leaves, n)
		}
	}
	if len(leaves) > 0 {
		sort.Strings(leaves)
		if len(leaves) > 3 {
			leaves = append(leaves[:3], fmt.Sprintf("(+%d)", len(leaves)-3))
		}
		return strings.Join(leaves, " ")
	}
	if sm := panicked.FindStringSubmatch(out); sm != nil {
		return "panic: " + sm[1]
	}
	return firstLines(out, 2)
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " | ")
}

// baseline runs, on the unmutated code, every test the mutants name, one
// go test per package with the union of the filters: a test that fails
// anyway would count every mutant of it as killed.
func baseline(ctx context.Context, root string, ms []*mutant, jobs int, timeout time.Duration) []string {
	type group struct {
		t   testCmd
		res []string
		all bool // some mutant runs every test of the package
	}
	var (
		order  []string
		groups = map[string]*group{}
	)
	for _, m := range ms {
		for _, t := range m.tests {
			for _, pkg := range t.pkgs {
				key := pkg
				if strings.Contains(t.run, "/") {
					// A subtest filter cannot join a union: -run splits at slashes.
					key += " -run " + t.run
				}
				g := groups[key]
				if g == nil {
					g = &group{t: testCmd{pkgs: []string{pkg}}}
					groups[key] = g
					order = append(order, key)
				}
				if t.run == "" {
					g.all = true
				} else if !slices.Contains(g.res, t.run) {
					g.res = append(g.res, t.run)
				}
			}
		}
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []string
		next = make(chan *group)
	)
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range next {
				t := g.t
				if !g.all {
					parts := make([]string, len(g.res))
					for i, re := range g.res {
						parts[i] = "(?:" + re + ")"
					}
					t.run = strings.Join(parts, "|")
				}
				start := time.Now()
				ok, out := goTest(ctx, root, t, "", timeout)
				status := "ok"
				switch {
				case !ok:
					status = "FAILED"
				case ranNothing(out):
					ok, status = false, "RAN NO TEST"
				}
				fmt.Printf("baseline %-20s %5.1fs  %s\n", t.pkgs[0], time.Since(start).Seconds(), status)
				if !ok {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("go test %s: %s", t, status+" "+failedTests(out)))
					mu.Unlock()
				}
			}
		}()
	}
	for _, k := range order {
		next <- groups[k]
	}
	close(next)
	wg.Wait()
	return errs
}
