package clinic

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestEveryWrittenActionIsListed reads this package's source: every action
// name written to the audit trail as a literal (c.audit's third argument,
// c.auditListed's, c.savePatient's fourth, an Action field in an event
// literal) must be in
// AuditActions, so the owner's action picker offers it and it has words.
// A new feature that audits a new action without listing it fails here.
func TestEveryWrittenActionIsListed(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := map[string]string{}
	lit := func(e ast.Expr, where token.Pos) {
		if b, ok := e.(*ast.BasicLit); ok && b.Kind == token.STRING {
			if s, err := strconv.Unquote(b.Value); err == nil {
				found[s] = fset.Position(where).String()
			}
		}
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				switch {
				case sel.Sel.Name == "audit" && len(n.Args) >= 3:
					lit(n.Args[2], n.Pos())
				case sel.Sel.Name == "auditListed" && len(n.Args) >= 3:
					lit(n.Args[2], n.Pos())
				case sel.Sel.Name == "savePatient" && len(n.Args) >= 4:
					lit(n.Args[3], n.Pos())
				}
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Action" {
					lit(n.Value, n.Pos())
				}
			}
			return true
		})
	}
	if len(found) < 20 {
		t.Fatalf("found only %d audited actions in the source; the scan is broken", len(found))
	}
	for a, where := range found {
		if !slices.Contains(AuditActions, a) {
			t.Errorf("%s: action %q is audited but not in AuditActions (add it there with words under audit.action.%s)", where, a, a)
		}
	}
}
