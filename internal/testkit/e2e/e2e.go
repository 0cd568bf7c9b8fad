// Package e2e runs the browser tests: Node.js scripts that drive Debian's headless Chromium
// through a pinned playwright-core, which it installs into the user cache directory. Tests that
// use it skip when node or Chromium is missing, unless KIZUNA_E2E=required (as in CI) makes that a
// failure. Node and NPM serve tests that run other Node.js scripts (official client libraries) by
// the same rules. Only tests import it.
package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// PlaywrightVersion is the pinned playwright-core the scripts import.
const PlaywrightVersion = "1.65.1"

// ChromiumPath is where the distribution puts Chromium (apt-get install chromium).
const ChromiumPath = "/usr/bin/chromium"

// Runner runs the scripts of one test.
type Runner struct {
	node    string
	modules string // node_modules holding playwright-core
	shots   string // absolute KIZUNA_SCREENSHOTS, or ""
}

// skip skips the test with msg, or fails it when the browser tests are required.
func skip(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("KIZUNA_E2E") == "required" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Need returns a runner, or skips the test when node, Chromium or playwright-core is not there
// (see the package comment). KIZUNA_SCREENSHOTS=DIR is passed on to the scripts, which write
// their PNGs there.
func Need(t testing.TB) *Runner {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(ChromiumPath)
	}
	if err != nil {
		skip(t, "browser test needs node and "+ChromiumPath+" (apt-get install -y chromium fonts-noto-cjk fonts-noto-color-emoji nodejs npm): "+err.Error())
	}
	r := &Runner{node: node, modules: NPM(t, "playwright-core@"+PlaywrightVersion)}
	if shots := os.Getenv("KIZUNA_SCREENSHOTS"); shots != "" {
		if r.shots, err = filepath.Abs(shots); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(r.shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// Run runs the script with args and fails the test when it fails; its output goes to the test log.
func (r *Runner) Run(t testing.TB, timeout time.Duration, script string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.node, append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "KIZUNA_E2E_MODULES="+r.modules, "CHROMIUM="+ChromiumPath, "KIZUNA_SCREENSHOTS="+r.shots)
	out, err := cmd.CombinedOutput()
	t.Logf("%s output:\n%s", filepath.Base(script), out)
	if err != nil {
		t.Fatalf("browser script %s failed: %v", script, err)
	}
}

// Node returns the node binary, or skips the test when there is none (a failure when
// KIZUNA_E2E=required) or in -short mode. For tests that run Node.js scripts without a browser.
func Node(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("Node.js test skipped in -short mode")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip(t, "this test needs Node.js (apt-get install -y nodejs npm): "+err.Error())
	}
	return node
}

// NPM makes sure the npm package spec, name@exact-version, is installed in a cache directory
// outside the repository and returns the node_modules directory that holds it; scripts find it
// through createRequire. Each spec gets its own directory, installed aside and renamed into place,
// so tests of several packages can install at the same time. Without npm, or offline, the test
// skips (a failure when KIZUNA_E2E=required).
func NPM(t testing.TB, spec string) string {
	t.Helper()
	at := strings.LastIndex(spec, "@")
	if at <= 0 {
		t.Fatalf("npm package %q: pin an exact version, name@version", spec)
	}
	name, version := spec[:at], spec[at+1:]
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	root := filepath.Join(cache, "kizuna-npm")
	dir := filepath.Join(root, strings.NewReplacer("/", "+", "@", "").Replace(name)+"@"+version)
	modules := filepath.Join(dir, "node_modules")
	if installed(modules, name, version) {
		return modules
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		skip(t, "npm is needed to install "+spec)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(root, ".install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", tmp, spec)
	if out, err := cmd.CombinedOutput(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = ctx.Err()
		}
		// Offline builds cannot fetch packages; only a required run treats that as failure.
		skip(t, fmt.Sprintf("npm install %s: %v\n%s", spec, err, out))
	}
	// Another test may have installed it meanwhile; then its copy stays and this one goes. A
	// broken copy (an interrupted install of an older helper) is replaced.
	if err := os.Rename(tmp, dir); err != nil && !installed(modules, name, version) {
		os.RemoveAll(dir)
		if err := os.Rename(tmp, dir); err != nil {
			t.Fatalf("installing %s into %s: %v", spec, dir, err)
		}
	}
	return modules
}

// installed reports whether modules holds version of package name.
func installed(modules, name, version string) bool {
	pkg, err := os.ReadFile(filepath.Join(modules, filepath.FromSlash(name), "package.json"))
	if err != nil {
		return false
	}
	var meta struct{ Version string }
	return json.Unmarshal(pkg, &meta) == nil && meta.Version == version
}
