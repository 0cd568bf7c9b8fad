// Package e2e runs the browser tests: Node.js scripts that drive Debian's headless Chromium
// through a pinned playwright-core, which it installs into the user cache directory. Tests that
// use it skip when node or Chromium is missing, unless KIZUNA_E2E=required (as in CI) makes that a
// failure. Only tests import it.
package e2e

import (
	"context"
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
	r := &Runner{node: node, modules: install(t)}
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

// install makes sure the pinned playwright-core is in a cache directory outside the repository
// and returns its node_modules.
func install(t testing.TB) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "kizuna-e2e")
	modules := filepath.Join(dir, "node_modules")
	pkg, err := os.ReadFile(filepath.Join(modules, "playwright-core", "package.json"))
	if err == nil && strings.Contains(string(pkg), `"version": "`+PlaywrightVersion+`"`) {
		return modules
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		skip(t, "npm is needed to install playwright-core")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", dir, "playwright-core@"+PlaywrightVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = ctx.Err()
		}
		// Offline builds cannot fetch the driver; only a required run treats that as failure.
		skip(t, fmt.Sprintf("npm install playwright-core@%s into %s: %v\n%s", PlaywrightVersion, dir, err, out))
	}
	return modules
}
