package imapmail

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestOneFetchInFlight keeps the rule of fetch.go: outside it no code
// calls go-imap's Fetch or Store, nor holds a FetchCommand (which is how a
// second FETCH would be left in flight while another is collected).
func TestOneFetchInFlight(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "fetch.go" {
			continue
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				switch sel.Sel.Name {
				case "Fetch", "Store", "UIDFetch", "UIDStore":
					if inner, ok := sel.X.(*ast.SelectorExpr); ok && inner.Sel.Name == "c" {
						t.Errorf("%s: %s called outside fetch.go", fset.Position(n.Pos()), sel.Sel.Name)
					}
				}
			case *ast.SelectorExpr:
				if n.Sel.Name == "FetchCommand" {
					t.Errorf("%s: imapclient.FetchCommand held outside fetch.go", fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
	if checked < 5 {
		t.Fatalf("checked only %d files", checked)
	}
}

// A broken base64 attachment streams what decodes and ends cleanly.
func TestDecodeReaderBrokenBase64(t *testing.T) {
	for in, want := range map[string]string{
		"SGVsbG8=":                    "Hello",
		"SGVs\r\nbG8=":                "Hello",
		"SGVsbG8g###garbage###":       "Hello ", // "SGVsbG8gZ2FyYmFnZQ" is cut
		"SGVsbG8=ZW5k":                "Hello",
		"SGVsbG8gd29y!!!bGQ=\x7f\x01": "Hello world",
	} {
		got, err := io.ReadAll(decodeReader(strings.NewReader(in), "base64"))
		if err != nil || !strings.HasPrefix(string(got), want) {
			t.Errorf("decode %q = %q, %v; want %q first and no error", in, got, err, want)
		}
	}
}

// RFC 2231 parameters in any charset, split or not, as go-imap hands them
// over (mime.ParseMediaType lost a Latin-1 name).
func TestParamValueCharsets(t *testing.T) {
	for _, tc := range []struct {
		params map[string]string
		want   string
	}{
		{map[string]string{"filename*": "iso-8859-1''Gr%FC%DFe.txt"}, "Grüße.txt"},
		{map[string]string{"filename*": "utf-8''%E2%82%AC.pdf"}, "€.pdf"},
		{map[string]string{"filename*0*": "utf-8''long%20", "filename*1": "name.txt"}, "long name.txt"},
		{map[string]string{"filename": `plain "quoted".txt`}, `plain "quoted".txt`},
		{map[string]string{"filename": "=?utf-8?q?caf=C3=A9.txt?="}, "café.txt"},
	} {
		if got := paramValue(tc.params, "filename"); got != tc.want {
			t.Errorf("paramValue(%v) = %q, want %q", tc.params, got, tc.want)
		}
	}
}
