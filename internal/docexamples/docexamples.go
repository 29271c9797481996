// Package docexamples reads the examples of the README and the docs/ pages,
// so that a test can run them against a real server and compare what they
// print with what the page shows.
//
// The markup is plain Markdown, so the pages stay readable and every
// command can be pasted as it is:
//
//   - A fenced block whose info string is "sh" (or "bash") is an example
//     that runs. The fenced block right after it (nothing but blank lines
//     between), if its info string is "text", is what it prints, standard
//     output and standard error together. Without one it must print
//     nothing. A line "..." in the output stands for any number of lines.
//   - "sh norun" is shown and never run: the server started in the
//     foreground, a command that runs until interrupted, one that needs
//     what the test does not have (PostgreSQL, a browser, minutes).
//   - "sh server" starts a server that later examples call: it runs in the
//     background, and the examples after it run once every port it names
//     accepts connections. Its output is not compared.
//   - A "go" block that starts with "package main" is a program: it is
//     built in a module of its own that requires customerd (the generated
//     client, gen/) and run like an example; its output block follows it.
//     Other "go" blocks are fragments and are not run.
//
// The examples of one page run in order, in one shell (variables set by
// one are seen by the next), in an empty directory, against a server of
// their own on a new database. Addresses 127.0.0.1:PORT and localhost:PORT
// are moved to free ports, and moved back in what the examples print.
// Times (RFC 3339), HTTP Date headers and API keys are masked before
// outputs are compared; ids, etags and page tokens are not, since on a new
// database they are the same on every run and later examples use them.
package docexamples

import (
	"fmt"
	"regexp"
	"strings"
)

// Kind says what is done with a block.
type Kind int

const (
	Run     Kind = iota // a shell example whose output is compared
	NoRun               // a shell example that is shown only
	Server              // a shell example that starts a server in the background
	Program             // a Go program, run like a Run example
)

// Block is one example of a page.
type Block struct {
	Line    int    // the 1-based line of its opening fence
	End     int    // the 1-based line of its closing fence
	Kind    Kind   //
	Code    string // its content, ending in a newline
	Output  *Text  // the output block after it, or nil
	Missing bool   // no output block follows (the example must print nothing)
}

// Text is an output block.
type Text struct {
	Line, End int    // the 1-based lines of its fences
	Want      string // its content
}

// fence matches the opening line of a fenced block: three or more
// backticks, then the info string (a language and an optional word).
var fence = regexp.MustCompile("^(```+)\\s*([A-Za-z0-9_+-]*)\\s*(.*?)\\s*$")

// Parse returns the examples of a Markdown page, in order. It fails for an
// unclosed fence and an unknown word after "sh", naming the line.
func Parse(src string) ([]Block, error) {
	lines := strings.Split(src, "\n")
	type fenced struct {
		line, end  int
		lang, attr string
		body       string
	}
	var blocks []fenced
	for i := 0; i < len(lines); i++ {
		m := fence.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		f := fenced{line: i + 1, lang: m[2], attr: m[3]}
		// As in CommonMark, a block closes at a line of at least as many
		// backticks as opened it, and nothing else.
		closes := func(l string) bool {
			t := strings.TrimRight(l, " \t")
			return len(t) >= len(m[1]) && strings.Trim(t, "`") == ""
		}
		var body strings.Builder
		for i++; i < len(lines) && !closes(lines[i]); i++ {
			body.WriteString(lines[i])
			body.WriteByte('\n')
		}
		if i == len(lines) {
			return nil, fmt.Errorf("line %d: the fenced block is not closed", f.line)
		}
		f.end, f.body = i+1, body.String()
		blocks = append(blocks, f)
	}
	var out []Block
	for j, f := range blocks {
		b := Block{Line: f.line, End: f.end, Code: f.body}
		switch {
		case (f.lang == "sh" || f.lang == "bash") && f.attr == "":
			b.Kind = Run
		case (f.lang == "sh" || f.lang == "bash") && f.attr == "norun":
			b.Kind = NoRun
		case (f.lang == "sh" || f.lang == "bash") && f.attr == "server":
			b.Kind = Server
		case f.lang == "sh" || f.lang == "bash":
			return nil, fmt.Errorf("line %d: unknown %q after %s: want nothing (run it), norun or server", f.line, f.attr, f.lang)
		case f.lang == "go" && strings.HasPrefix(f.body, "package main\n"):
			b.Kind = Program
		default:
			continue // not an example: JSON, Go fragments, layouts, outputs
		}
		if b.Kind == Run || b.Kind == Program {
			if j+1 < len(blocks) && blocks[j+1].lang == "text" && blank(lines[f.end:blocks[j+1].line-1]) {
				next := blocks[j+1]
				b.Output = &Text{Line: next.line, End: next.end, Want: next.body}
			} else {
				b.Missing = true
			}
		}
		out = append(out, b)
	}
	return out, nil
}

func blank(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			return false
		}
	}
	return true
}

// Commands counts the commands of a shell example: its lines that are not
// blank, not comments and do not continue a line ending in a backslash.
func Commands(code string) int {
	n, cont := 0, false
	for l := range strings.SplitSeq(code, "\n") {
		t := strings.TrimSpace(l)
		if !cont && t != "" && !strings.HasPrefix(t, "#") {
			n++
		}
		cont = strings.HasSuffix(t, `\`)
	}
	return n
}

var masks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`), "<time>"},
	{regexp.MustCompile(`(?m)^(Date|date): .*$`), "$1: <date>"},
	{regexp.MustCompile(`cdk_[A-Za-z0-9_-]{20,}`), "<key>"},
}

// Mask replaces what differs from run to run with placeholders, trims
// white space at the end of each line and blank lines at the end.
func Mask(s string) string {
	for _, m := range masks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

// Match reports whether got, masked, is want, masked, where a line "..."
// of want stands for any number of lines.
func Match(want, got string) bool {
	w, g := lines(Mask(want)), lines(Mask(got))
	// ok[i][j]: w[i:] matches g[j:].
	ok := make([][]bool, len(w)+1)
	for i := range ok {
		ok[i] = make([]bool, len(g)+1)
	}
	ok[len(w)][len(g)] = true
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g); j >= 0; j-- {
			if w[i] == "..." {
				ok[i][j] = ok[i+1][j] || (j < len(g) && ok[i][j+1])
			} else {
				ok[i][j] = j < len(g) && w[i] == g[j] && ok[i+1][j+1]
			}
		}
	}
	return ok[0][0]
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Rewrite returns src with the output block of each example in outputs
// (keyed by the example's opening line) replaced by the output given, one
// inserted where the example had none, or removed for an empty output.
func Rewrite(src string, blocks []Block, outputs map[int]string) string {
	lines := strings.Split(src, "\n")
	for i := len(blocks) - 1; i >= 0; i-- {
		b := blocks[i]
		got, ok := outputs[b.Line]
		if !ok {
			continue
		}
		got = strings.TrimRight(got, "\n")
		var text []string
		if got != "" {
			text = append([]string{"", "```text"}, strings.Split(got, "\n")...)
			text = append(text, "```")
		}
		from, to := b.End, b.End // lines[from:to] is replaced: after the closing fence
		if b.Output != nil {
			to = b.Output.End
		}
		lines = append(lines[:from], append(text, lines[to:]...)...)
	}
	return strings.Join(lines, "\n")
}

// Diff returns a line diff of want and got, both masked: lines only in
// want start with "-", lines only in got with "+", common lines with " ".
func Diff(want, got string) string {
	w, g := lines(Mask(want)), lines(Mask(got))
	// lcs[i][j]: the length of the longest common subsequence of w[i:], g[j:].
	lcs := make([][]int, len(w)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			b.WriteString("  " + w[i] + "\n")
			i, j = i+1, j+1
		case i < len(w) && (j == len(g) || lcs[i+1][j] >= lcs[i][j+1]):
			b.WriteString("- " + w[i] + "\n")
			i++
		default:
			b.WriteString("+ " + g[j] + "\n")
			j++
		}
	}
	return b.String()
}
