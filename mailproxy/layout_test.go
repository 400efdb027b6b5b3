package mailproxy

import (
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/thumbmail/thumbmail/"

// roomRules says which of the project's packages each room's production
// code may import (DESIGN.md, Layout). Third-party and standard library
// imports are not checked here, except that the contract takes none.
var roomRules = map[string][]string{
	"mailproxy":          {},
	"mailproxy/message":  {"mailproxy"},
	"mailproxy/send":     {"mailproxy", "mailproxy/message"},
	"mailproxy/imapmail": {"mailproxy", "mailproxy/message"},
	"mailproxy/pop3mail": {"mailproxy", "mailproxy/message", "mailproxy/pop3"},
	"mailproxy/discover": {"mailproxy"},
	"handlers":           {"mailproxy", "mailproxy/message", "mailproxy/send", "templates", "static", "web"},
}

// TestLayout keeps the rooms of issue 15: the contract imports only the
// standard library, each room imports only what DESIGN.md allows (so
// handlers never name a backend), and no production file under mailproxy
// grows past 600 lines (the demo's sample data and the test peers aside).
func TestLayout(t *testing.T) {
	root := filepath.Join("..")
	for room, allowed := range roomRules {
		files, _ := filepath.Glob(filepath.Join(root, room, "*.go"))
		if len(files) == 0 {
			t.Errorf("%s: no Go files", room)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if room == "mailproxy" && strings.Contains(strings.Split(p, "/")[0], ".") {
					t.Errorf("%s imports %s: the contract takes only the standard library", f, p)
				}
				own, ok := strings.CutPrefix(p, module)
				if !ok {
					continue
				}
				if !slices.Contains(allowed, own) {
					t.Errorf("%s imports %s; %s may import only %v", f, own, room, allowed)
				}
			}
		}
	}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "demo" || strings.HasSuffix(d.Name(), "test") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := bytes.Count(b, []byte("\n")); n > 600 {
			t.Errorf("mailproxy/%s has %d lines; split it by job (at most 600)", path, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
