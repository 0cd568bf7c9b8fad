package app

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/kizuna-community/kizuna/"

// layer of each package under internal/ (by its first path element), lowest first. A package may
// import packages of its own or a lower layer only; docs/architecture.md explains the ladder.
var layers = map[string]int{
	// platform pieces: no domain knowledge
	"errs": 0, "id": 0, "config": 0, "db": 0, "event": 0, "stream": 0, "markdown": 0, "dsr": 0,
	// domain parts: own their data and SQL; never import HTTP code
	"backbone": 1, "mail": 1, "accounts": 1, "demo": 1, "search": 1, "notify": 1, "dm": 1, "community": 1, "meetup": 1,
	"kb": 1, "badges": 1, "survey": 1, "media": 1, "identity": 1, "imports": 1, "crm": 1, "profile": 1, "consent": 1, "segment": 1, "score": 1, "onboarding": 1, "privacy": 1, "testkit": 0,
	// edges: HTTP surfaces and the wording of what reaches people (account emails)
	"httpx": 2, "api": 2, "web": 2, "accountmail": 2, "ingest": 2,
	// composition root
	"app": 3,
}

const domainLayer = 1

// httpClients are adapters inside domain parts that speak HTTP to outside services (an
// S3-compatible bucket, identity providers); they may import net/http, nothing else in the domain may.
var httpClients = []string{"internal/media/s3store/", "internal/accounts/social/"}

func TestDependenciesPointOneWay(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.Contains(path, "node_modules") {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		from, fromLayer := owner(rel)
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if strings.HasPrefix(rel, "cmd/") {
				if strings.HasPrefix(p, module) && p != module+"internal/app" {
					t.Errorf("%s imports %s: cmd/ may only import internal/app", rel, p)
				}
				continue
			}
			if fromLayer <= domainLayer && !strings.HasSuffix(rel, "_test.go") && slices.Contains([]string{"net/http", "html/template"}, p) &&
				!(p == "net/http" && slices.ContainsFunc(httpClients, func(prefix string) bool { return strings.HasPrefix(rel, prefix) })) {
				t.Errorf("%s (%s) imports %s: domain parts and platform pieces never import HTTP code", rel, from, p)
			}
			// Tests may use any real part (an accounts test sends its emails through accountmail).
			if !strings.HasPrefix(p, module+"internal/") || strings.HasSuffix(rel, "_test.go") {
				continue
			}
			to, toLayer := owner(strings.TrimPrefix(p, module))
			if to != from && toLayer > fromLayer {
				t.Errorf("%s (%s, layer %d) imports %s (layer %d): dependencies point down the ladder only", rel, from, fromLayer, to, toLayer)
			}
			if to != from && (from == "api" || from == "web") && (to == "api" || to == "web") {
				t.Errorf("%s imports %s: HTTP surfaces share code only through httpx", rel, to)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// owner returns the part a file or package path under internal/ belongs to and its layer.
func owner(rel string) (string, int) {
	parts := strings.Split(rel, "/")
	if len(parts) < 2 || parts[0] != "internal" {
		return rel, 99
	}
	l, ok := layers[parts[1]]
	if !ok {
		return parts[1], -1 // unknown: reported by TestEveryPartHasALayer
	}
	return parts[1], l
}

func TestEveryPartHasALayer(t *testing.T) {
	entries, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := layers[e.Name()]; e.IsDir() && !ok {
			t.Errorf("internal/%s has no layer in deps_test.go; add it there and to docs/architecture.md", e.Name())
		}
	}
}
