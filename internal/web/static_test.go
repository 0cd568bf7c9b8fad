package web

import (
	"os"
	"strings"
	"testing"
)

// TestStylesheetBlocksClose checks that every block of app.css closes where it should: a brace
// lost in a merge puts every later rule inside the block before it (a phone-only media query,
// say), and the browser says nothing.
func TestStylesheetBlocksClose(t *testing.T) {
	b, err := os.ReadFile("static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	var open []int // lines of the blocks open
	inComment := false
	for n, line := range strings.Split(string(b), "\n") {
		for i := 0; i < len(line); i++ {
			switch {
			case inComment:
				if strings.HasPrefix(line[i:], "*/") {
					inComment, i = false, i+1
				}
			case strings.HasPrefix(line[i:], "/*"):
				inComment, i = true, i+1
			case line[i] == '{':
				open = append(open, n+1)
			case line[i] == '}':
				if len(open) == 0 {
					t.Fatalf("app.css:%d: a } closes nothing", n+1)
				}
				open = open[:len(open)-1]
			}
		}
		// A comment that starts a section is never inside a block but a media query.
		if strings.HasPrefix(line, "/* ----") && len(open) > 0 {
			t.Errorf("app.css:%d: a new section starts inside the block opened on line %d", n+1, open[len(open)-1])
		}
	}
	if len(open) > 0 {
		t.Errorf("app.css: blocks opened on lines %v never close", open)
	}
}
