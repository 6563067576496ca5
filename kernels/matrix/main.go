// Command matrix reads the console logs of a kernels/test-kernels.sh run and
// prints the test × kernel matrix (pass, FAIL, skip with its reason). It
// exits 1 when a test failed, a test binary did not build, or a guest did not
// boot or finish.
//
// Usage: go run ./kernels/matrix -results DIR [-md FILE]
//
// DIR holds one directory per kernel (and "host") with guest.conf (shell
// assignments written by test-kernels.sh), meta (wall time, qemu status) and
// console.log; run.meta describes the run, build-failures lists test
// binaries that did not compile. In console.log the guest's /init frames each
// test binary's output (run with -test.v=test2json) between
// "@@SIGTRACE PKG <pkg>" and "@@SIGTRACE PKGEND <pkg> <exit status>", after
// "@@SIGTRACE BEGIN <uname -r> <uname -m>" and before "@@SIGTRACE END";
// `go tool test2json` turns each binary's output into test events.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

const marker = "@@SIGTRACE "

// result is the outcome of one test (or package) in one run.
type result struct {
	status string // "pass", "fail", "skip", or "" while running
	output []string
}

// run is one column: a guest kernel or the host.
type run struct {
	label    string
	conf     map[string]string
	meta     map[string]string
	uname    string
	booted   bool
	finished bool
	// keeper: why kernels/keeper failed, "" when it held the tracepoints.
	keeper   string
	tests    map[string]*result // key: pkg + "\t" + test
	order    []string
	pkgRC    map[string]int // exit status per package, -1 when unfinished
	pkgOut   map[string][]string
	buildErr map[string]string // pkg -> log file
}

func main() {
	resultsDir := flag.String("results", "", "directory written by kernels/test-kernels.sh")
	mdPath := flag.String("md", "", "also write the matrix as markdown to this file")
	all := flag.Bool("all", false, "list every subtest, also those that passed everywhere like their parent")
	flag.Parse()
	if *resultsDir == "" {
		fmt.Fprintln(os.Stderr, "matrix: -results DIR is required")
		os.Exit(2)
	}
	runMeta, _ := readAssignments(filepath.Join(*resultsDir, "run.meta"))
	labels := strings.Fields(runMeta["kernels"])
	if _, err := os.Stat(filepath.Join(*resultsDir, "host", "console.log")); err == nil {
		labels = append(labels, "host")
	}
	if len(labels) == 0 {
		fmt.Fprintf(os.Stderr, "matrix: no runs in %s (run.meta has no kernels)\n", *resultsDir)
		os.Exit(2)
	}
	buildFailures := readBuildFailures(filepath.Join(*resultsDir, "build-failures"))

	var runs []*run
	for _, l := range labels {
		r, err := readRun(filepath.Join(*resultsDir, l), l)
		if err != nil {
			fmt.Fprintf(os.Stderr, "matrix: %s: %v\n", l, err)
			os.Exit(2)
		}
		r.buildErr = buildFailures[r.conf["ARCH"]]
		runs = append(runs, r)
	}
	m := buildMatrix(runs, *all)
	m.runMeta = runMeta
	m.printText(os.Stdout)
	if *mdPath != "" {
		var b bytes.Buffer
		m.writeMarkdown(&b)
		if err := os.WriteFile(*mdPath, b.Bytes(), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "matrix: %v\n", err)
			os.Exit(2)
		}
	}
	if m.failed {
		os.Exit(1)
	}
}

// readAssignments reads KEY=value lines (values optionally single-quoted).
func readAssignments(path string) (map[string]string, error) {
	out := map[string]string{}
	data, err := os.ReadFile(path)
	if err != nil {
		return out, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), "'")
	}
	return out, nil
}

// readBuildFailures maps arch -> pkg -> log file.
func readBuildFailures(path string) map[string]map[string]string {
	out := map[string]map[string]string{}
	data, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		if out[f[0]] == nil {
			out[f[0]] = map[string]string{}
		}
		out[f[0]][f[1]] = f[2]
	}
	return out
}

func readRun(dir, label string) (*run, error) {
	r := &run{label: label, tests: map[string]*result{}, pkgRC: map[string]int{}, pkgOut: map[string][]string{}}
	r.conf, _ = readAssignments(filepath.Join(dir, "guest.conf"))
	r.meta, _ = readAssignments(filepath.Join(dir, "meta"))
	console, err := os.ReadFile(filepath.Join(dir, "console.log"))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	var pkg string
	var seg bytes.Buffer
	flush := func(rc int) error {
		if pkg == "" {
			return nil
		}
		err := r.addPackage(pkg, seg.Bytes(), rc)
		pkg = ""
		seg.Reset()
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(console))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		i := strings.Index(line, marker)
		if i < 0 {
			if pkg != "" {
				seg.WriteString(line)
				seg.WriteByte('\n')
			}
			continue
		}
		f := strings.Fields(line[i+len(marker):])
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "BEGIN":
			r.booted = true
			if len(f) >= 3 {
				r.uname = f[1] + " " + f[2]
			}
		case "PKG":
			if err := flush(-1); err != nil {
				return nil, err
			}
			if len(f) >= 2 {
				pkg = f[1]
			}
		case "PKGEND":
			rc := -1
			if len(f) >= 3 {
				rc, _ = strconv.Atoi(f[2])
			}
			if err := flush(rc); err != nil {
				return nil, err
			}
		case "END":
			r.finished = true
		case "KEEPER":
			r.keeper = strings.Join(f[1:], " ")
		}
	}
	if err := flush(-1); err != nil {
		return nil, err
	}
	return r, sc.Err()
}

// event is what `go tool test2json` prints.
type event struct {
	Action string
	Test   string
	Output string
}

// addPackage turns one test binary's output into test results.
func (r *run) addPackage(pkg string, out []byte, rc int) error {
	cmd := exec.Command("go", "tool", "test2json", "-p", pkg)
	cmd.Stdin = bytes.NewReader(out)
	cmd.Stderr = os.Stderr
	js, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go tool test2json: %v", err)
	}
	r.pkgRC[pkg] = rc
	dec := json.NewDecoder(bytes.NewReader(js))
	for {
		var ev event
		if err := dec.Decode(&ev); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("test2json output: %v", err)
		}
		if ev.Test == "" {
			if ev.Action == "output" {
				r.pkgOut[pkg] = append(r.pkgOut[pkg], strings.TrimRight(ev.Output, "\n"))
			}
			continue
		}
		key := pkg + "\t" + ev.Test
		res := r.tests[key]
		if res == nil {
			res = &result{}
			r.tests[key] = res
			r.order = append(r.order, key)
		}
		switch ev.Action {
		case "output":
			res.output = append(res.output, strings.TrimRight(ev.Output, "\n"))
		case "pass", "fail", "skip":
			res.status = ev.Action
		}
	}
	return nil
}

// framing matches the lines testing itself prints around a test's output.
var framing = regexp.MustCompile(`^\s*(=== (RUN|PAUSE|CONT|NAME)|--- (PASS|FAIL|SKIP):)`)

// logPrefix matches the "file_test.go:123: " that t.Log and t.Skip prepend.
var logPrefix = regexp.MustCompile(`^\s*[\w.-]+\.go:\d+: `)

// message is a test's own output without framing, trimmed.
func message(lines []string) []string {
	var out []string
	for _, l := range lines {
		if framing.MatchString(l) || strings.TrimSpace(l) == "" {
			continue
		}
		out = append(out, strings.TrimSpace(logPrefix.ReplaceAllString(l, "")))
	}
	return out
}

// cell is one entry of the matrix.
type cell struct {
	text   string // pass, FAIL, skip, -, ...
	reason string // skip reason or failure detail
	failed bool
	output []string
}

type row struct {
	pkg, name string
	cells     []cell
}

type matrix struct {
	runs    []*run
	rows    []*row
	notes   []string // per-column problems (did not boot, timeout)
	failed  bool
	runMeta map[string]string
	skips   []string // numbered skip reasons
	all     []*row   // rows before collapsing, for the counts
}

func (m *matrix) skipRef(reason string) int {
	for i, s := range m.skips {
		if s == reason {
			return i + 1
		}
	}
	m.skips = append(m.skips, reason)
	return len(m.skips)
}

func buildMatrix(runs []*run, showAll bool) *matrix {
	m := &matrix{runs: runs}
	// Rows: package order of first appearance, tests in run order.
	var keys []string
	seen := map[string]bool{}
	var pkgs []string
	pkgSeen := map[string]bool{}
	addPkg := func(p string) {
		if !pkgSeen[p] {
			pkgSeen[p] = true
			pkgs = append(pkgs, p)
		}
	}
	for _, r := range runs {
		// A test first seen in a later run goes right after the test
		// that preceded it in that run.
		prev := ""
		for _, k := range r.order {
			addPkg(strings.SplitN(k, "\t", 2)[0])
			if !seen[k] {
				seen[k] = true
				at := len(keys)
				if i := slices.Index(keys, prev); i >= 0 {
					at = i + 1
				}
				keys = slices.Insert(keys, at, k)
			}
			prev = k
		}
		for p := range r.pkgRC {
			addPkg(p)
		}
		bs := make([]string, 0, len(r.buildErr))
		for p := range r.buildErr {
			bs = append(bs, p)
		}
		sort.Strings(bs)
		for _, p := range bs {
			addPkg(p)
		}
	}
	pkgIndex := map[string]int{}
	for i, p := range pkgs {
		pkgIndex[p] = i
	}
	sort.SliceStable(keys, func(i, j int) bool {
		pi := pkgIndex[strings.SplitN(keys[i], "\t", 2)[0]]
		pj := pkgIndex[strings.SplitN(keys[j], "\t", 2)[0]]
		return pi < pj
	})

	// Package rows, only where something went wrong at the package level:
	// a build failure, or a non-zero exit that no failed test explains
	// (panic in init or TestMain, a crash, a timeout).
	for _, p := range pkgs {
		var cells []cell
		bad := false
		for _, r := range runs {
			c := cell{text: "-"}
			if log, ok := r.buildErr[p]; ok {
				c = cell{text: "FAIL", reason: "does not build", failed: true, output: tail(readLines(log), 15)}
			} else if rc, ok := r.pkgRC[p]; ok {
				c = cell{text: "ok"}
				if rc != 0 && !r.anyTestFailed(p) {
					why := fmt.Sprintf("exit status %d", rc)
					if rc == -1 {
						why = "did not finish"
					}
					c = cell{text: "FAIL", reason: why, failed: true, output: tail(r.pkgOut[p], 15)}
				}
			}
			bad = bad || c.failed
			cells = append(cells, c)
		}
		if bad {
			m.rows = append(m.rows, &row{pkg: p, name: "(package)", cells: cells})
		}
	}

	for _, k := range keys {
		pkg, name, _ := strings.Cut(k, "\t")
		rw := &row{pkg: pkg, name: name}
		for _, r := range runs {
			rw.cells = append(rw.cells, m.cellFor(r, pkg, k))
		}
		m.rows = append(m.rows, rw)
	}
	sort.SliceStable(m.rows, func(i, j int) bool { return pkgIndex[m.rows[i].pkg] < pkgIndex[m.rows[j].pkg] })
	m.all = m.rows
	if !showAll {
		m.collapse()
	}

	for _, r := range runs {
		switch {
		case !r.booted:
			m.notes = append(m.notes, fmt.Sprintf("%s did NOT boot (no %sBEGIN on the console)%s", r.label, marker, r.timeoutNote()))
		case !r.finished:
			m.notes = append(m.notes, fmt.Sprintf("%s did NOT finish (no %sEND on the console)%s", r.label, marker, r.timeoutNote()))
		}
		if r.keeper != "" {
			m.notes = append(m.notes, fmt.Sprintf("%s: the keeper did not hold the tracepoints enabled (kernels/keeper): %s", r.label, r.keeper))
		}
	}
	m.failed = len(m.notes) > 0
	for _, rw := range m.rows {
		for _, c := range rw.cells {
			m.failed = m.failed || c.failed
		}
	}
	return m
}

func (r *run) timeoutNote() string {
	if r.meta["timed_out"] == "1" {
		return fmt.Sprintf(": killed after %s s", r.conf["TIMEOUT"])
	}
	if rc := r.meta["qemu_rc"]; rc != "" && rc != "0" {
		return ": qemu exit status " + rc
	}
	return ""
}

func (r *run) anyTestFailed(pkg string) bool {
	for _, k := range r.order {
		if strings.HasPrefix(k, pkg+"\t") && r.tests[k].status != "pass" && r.tests[k].status != "skip" {
			return true
		}
	}
	return false
}

func (m *matrix) cellFor(r *run, pkg, key string) cell {
	res := r.tests[key]
	if res == nil {
		// Not built for this arch (a FAIL in the package row), not part of
		// this run (arch-specific), or not reached because
		// the guest stopped early, which fails the column anyway.
		return cell{text: "-"}
	}
	switch res.status {
	case "pass":
		return cell{text: "pass"}
	case "skip":
		reason := strings.Join(message(res.output), "; ")
		if reason == "" {
			reason = "no reason given"
		}
		return cell{text: fmt.Sprintf("skip[%d]", m.skipRef(reason)), reason: reason}
	case "fail":
		return cell{text: "FAIL", failed: true, output: tail(message(res.output), 15)}
	default:
		return cell{text: "FAIL", reason: "unfinished (crashed, hung or timed out)", failed: true,
			output: tail(append(message(res.output), r.pkgOut[pkg]...), 15)}
	}
}

func readLines(path string) []string {
	data, _ := os.ReadFile(path)
	return strings.Split(strings.TrimRight(string(data), "\n"), "\n")
}

func tail(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}

func (m *matrix) header() []string {
	h := []string{"test"}
	for _, r := range m.runs {
		h = append(h, strings.ReplaceAll(r.label, "-", " "))
	}
	return h
}

func (rw *row) title() string {
	return rw.pkg + " " + rw.name
}

func (m *matrix) printText(w io.Writer) {
	h := m.header()
	widths := make([]int, len(h))
	for i, s := range h {
		widths[i] = len(s)
	}
	for _, rw := range m.rows {
		widths[0] = max(widths[0], len(rw.title()))
		for i, c := range rw.cells {
			widths[i+1] = max(widths[i+1], len(c.text))
		}
	}
	line := func(cols []string) {
		var b strings.Builder
		for i, c := range cols {
			if i > 0 {
				b.WriteString("  ")
			}
			fmt.Fprintf(&b, "%-*s", widths[i], c)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	fmt.Fprintln(w)
	line(h)
	sep := make([]string, len(h))
	for i := range sep {
		sep[i] = strings.Repeat("-", widths[i])
	}
	line(sep)
	for _, rw := range m.rows {
		cols := []string{rw.title()}
		for _, c := range rw.cells {
			cols = append(cols, c.text)
		}
		line(cols)
	}
	fmt.Fprintln(w)
	for i, s := range m.skips {
		fmt.Fprintf(w, "skip[%d]: %s\n", i+1, s)
	}
	if len(m.skips) > 0 {
		fmt.Fprintln(w)
	}
	for _, r := range m.runs {
		fmt.Fprintf(w, "%-12s %s\n", r.label+":", r.describe())
	}
	if ex := m.runMeta["excluded"]; ex != "" {
		fmt.Fprintf(w, "not run here (kernels/guest-exclude): %s\n", ex)
	}
	// Failures, per kernel; tests that failed with the same words (one
	// cause, e.g. the tracer not loading) are listed together.
	for i, r := range m.runs {
		type group struct {
			tests []string
			text  []string
		}
		var groups []*group
		byText := map[string]*group{}
		for _, rw := range m.all {
			c := rw.cells[i]
			if !c.failed || (c.reason == "" && len(c.output) == 0) {
				continue // a parent failing through its subtests
			}
			text := c.output
			if c.reason != "" {
				text = append([]string{c.reason}, c.output...)
			}
			key := strings.Join(text, "\n")
			g := byText[key]
			if g == nil {
				g = &group{text: text}
				byText[key] = g
				groups = append(groups, g)
			}
			g.tests = append(g.tests, rw.title())
		}
		for _, g := range groups {
			fmt.Fprintf(w, "\nFAIL on %s: %s\n", r.label, strings.Join(g.tests, ", "))
			for _, l := range g.text {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
	for _, n := range m.notes {
		fmt.Fprintf(w, "\n%s\n", n)
	}
	if m.failed {
		fmt.Fprintln(w, "\nkernel matrix: FAILED")
	} else {
		fmt.Fprintln(w, "\nkernel matrix: ok")
	}
}

// counts per column: passed, skipped, failed.
func (m *matrix) counts(col int) (pass, skip, fail int) {
	for _, rw := range m.all {
		c := rw.cells[col]
		switch {
		case c.failed:
			fail++
		case c.text == "pass":
			pass++
		case strings.HasPrefix(c.text, "skip"):
			skip++
		}
	}
	return
}

func (r *run) describe() string {
	var parts []string
	if r.label == "host" {
		parts = append(parts, "this machine")
	} else {
		parts = append(parts, fmt.Sprintf("%s, %s %s", r.conf["DIST"], r.conf["PACKAGE"], r.conf["VERSION"]))
	}
	if r.uname != "" {
		parts = append(parts, "uname "+r.uname)
	}
	if ms, err := strconv.Atoi(r.meta["wall_ms"]); err == nil {
		parts = append(parts, fmt.Sprintf("%.1f s", float64(ms)/1000))
	}
	return strings.Join(parts, ", ")
}

// kernelName is e.g. "6.1.176 x86_64" from the package version.
func (r *run) kernelName() string {
	if r.label == "host" {
		return "host " + r.uname
	}
	v, _, _ := strings.Cut(r.conf["VERSION"], "-")
	arch := "x86_64"
	if r.conf["ARCH"] == "arm64" {
		arch = "arm64"
	}
	return v + " " + arch
}

func mdEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

func (m *matrix) writeMarkdown(w io.Writer) {
	fmt.Fprintln(w, "# Kernel matrix")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Generated by `make test-kernels` (kernels/test-kernels.sh) on %s at commit %s.\n",
		m.runMeta["date"], m.runMeta["commit"])
	if g, err := strconv.Atoi(m.runMeta["guests_ms"]); err == nil {
		t, _ := strconv.Atoi(m.runMeta["total_ms"])
		fmt.Fprintf(w, "Guests: %.0f s wall time (%s at a time, qemu TCG, 2 vCPUs, 512 MiB); whole run %.0f s.\n",
			float64(g)/1000, m.runMeta["jobs"], float64(t)/1000)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "## Tested kernels")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| Kernel | Distribution | Package | Result | Time |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for i, r := range m.runs {
		pass, skip, fail := m.counts(i)
		res := fmt.Sprintf("pass (%d passed, %d skipped)", pass, skip)
		switch {
		case !r.booted:
			res = "**did not boot**"
		case !r.finished:
			res = fmt.Sprintf("**did not finish** (%d failed)", fail)
		case fail > 0:
			res = fmt.Sprintf("**FAIL** (%d failed, %d passed, %d skipped)", fail, pass, skip)
		}
		pkg := r.conf["PACKAGE"] + " " + r.conf["VERSION"]
		dist := r.conf["DIST"]
		if r.label == "host" {
			pkg, dist = "-", "build machine"
		}
		secs := ""
		if ms, err := strconv.Atoi(r.meta["wall_ms"]); err == nil {
			secs = fmt.Sprintf("%.1f s", float64(ms)/1000)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.kernelName(), dist, mdEscape(pkg), res, secs)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "## Results")
	fmt.Fprintln(w)
	h := m.header()
	fmt.Fprintf(w, "| %s |\n", strings.Join(h, " | "))
	fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(h)))
	for _, rw := range m.rows {
		cols := []string{"`" + rw.pkg + "` " + mdEscape(rw.name)}
		for _, c := range rw.cells {
			t := c.text
			if c.failed {
				t = "**FAIL**"
			}
			cols = append(cols, t)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cols, " | "))
	}
	if len(m.skips) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Skip reasons:")
		fmt.Fprintln(w)
		for i, s := range m.skips {
			fmt.Fprintf(w, "- skip[%d]: %s\n", i+1, mdEscape(s))
		}
	}
	if len(m.notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range m.notes {
			fmt.Fprintf(w, "- **%s**\n", mdEscape(n))
		}
	}
	if ex := m.runMeta["excluded"]; ex != "" {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "Not run here (see kernels/guest-exclude; `make test` runs them on the host): %s.\n", ex)
	}
}

// collapse hides the rows of subtests that passed everywhere, like their
// parent: the parent's row says how many there were.
func (m *matrix) collapse() {
	allPass := func(rw *row) bool {
		for _, c := range rw.cells {
			if c.text != "pass" {
				return false
			}
		}
		return true
	}
	byName := map[string]*row{}
	for _, rw := range m.rows {
		byName[rw.pkg+"\t"+rw.name] = rw
	}
	hidden := map[*row]int{}
	var kept []*row
	for _, rw := range m.rows {
		i := strings.LastIndex(rw.name, "/")
		if i > 0 && allPass(rw) {
			if parent := byName[rw.pkg+"\t"+rw.name[:i]]; parent != nil && allPass(parent) {
				hidden[parent]++
				continue
			}
		}
		kept = append(kept, rw)
	}
	for _, rw := range kept {
		if n := hidden[rw]; n > 0 {
			rw.name = fmt.Sprintf("%s (+%d subtests)", rw.name, n)
		}
	}
	m.rows = kept
}
