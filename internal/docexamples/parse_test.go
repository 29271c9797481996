package docexamples_test

import (
	"strings"
	"testing"

	"customerd/internal/docexamples"
)

const samplePage = "# A page\n\n```sh norun\ncustomerd\n```\n\n```sh\n# a comment\ncurl -sS \\\n  http://127.0.0.1:8080/x\necho two\n```\n\n```text\nold output\n```\n\n" +
	"```sh\ntrue\n```\n\nprose\n\n```sh server\ncustomerd -addr 127.0.0.1:8443 &\n```\n\n```go\npackage main\n```\n\n```text\nhi\n```\n\n```go\nclient.Get()\n```\n"

func TestParse(t *testing.T) {
	blocks, err := docexamples.Parse(samplePage)
	if err != nil {
		t.Fatal(err)
	}
	kinds := []docexamples.Kind{docexamples.NoRun, docexamples.Run, docexamples.Run, docexamples.Server, docexamples.Program}
	if len(blocks) != len(kinds) {
		t.Fatalf("%d blocks, want %d: %+v", len(blocks), len(kinds), blocks)
	}
	for i, k := range kinds {
		if blocks[i].Kind != k {
			t.Errorf("block %d (line %d): kind %d, want %d", i, blocks[i].Line, blocks[i].Kind, k)
		}
	}
	if b := blocks[1]; b.Line != 7 || b.Output == nil || b.Output.Want != "old output\n" || docexamples.Commands(b.Code) != 2 {
		t.Errorf("the run example: %+v, %d commands", b, docexamples.Commands(b.Code))
	}
	if b := blocks[2]; b.Output != nil || !b.Missing {
		t.Errorf("an example without an output block: %+v", b)
	}
	if b := blocks[4]; b.Output == nil || b.Output.Want != "hi\n" {
		t.Errorf("the program: %+v", b)
	}

	got := docexamples.Rewrite(samplePage, blocks, map[int]string{7: "new\noutput\n", blocks[2].Line: "printed\n"})
	want := strings.Replace(samplePage, "old output\n", "new\noutput\n", 1)
	want = strings.Replace(want, "```sh\ntrue\n```\n", "```sh\ntrue\n```\n\n```text\nprinted\n```\n", 1)
	if got != want {
		t.Errorf("Rewrite:\n%s\nwant:\n%s", got, want)
	}

	for _, bad := range []string{"```sh\nx\n", "```sh quietly\nx\n```\n"} {
		if _, err := docexamples.Parse(bad); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("Parse(%q): %v, want an error naming line 1", bad, err)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		want, got string
		ok        bool
	}{
		{"a\nb\n", "a\nb", true},
		{"a  \n", "a\n\n", true},
		{"updated 2026-11-25T21:01:00.818Z\n", "updated 2027-01-02T03:04:05Z\n", true},
		{"key cdk_tuaCweedyazCWebG0pthr7KrtjcfTGQDGm1CrX1C1Ww", "key cdk_nlu_SeN-z-mR_qEgLZEgH7TYvV6eiVFP29Yu42uAuZQ", true},
		{"Date: Wed, 02 Dec 2026 10:55:30 GMT\nok", "Date: Thu, 03 Dec 2026 11:00:00 GMT\nok", true},
		{"...\nlast\n", "x\ny\nlast\n", true},
		{"...\nlast\n", "last\n", true},
		{"first\n...\n", "first\n", true},
		{"...\nlast\n", "x\nnot last\n", false},
		{"etag f4b5cb5bcc647005", "etag f4b5c85bcc646aec", false},
		{"id 1", "id 2", false},
		{"", "something", false},
	} {
		if got := docexamples.Match(tc.want, tc.got); got != tc.ok {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.want, tc.got, got, tc.ok)
		}
	}
	if d := docexamples.Diff("a\nb\nc\n", "a\nB\nc\n"); d != "  a\n- b\n+ B\n  c\n" {
		t.Errorf("Diff:\n%s", d)
	}
}

// TestParseNestedFences reads a block of four backticks that shows blocks
// of three as one block that is not an example.
func TestParseNestedFences(t *testing.T) {
	blocks, err := docexamples.Parse("````\n```sh\nrm -rf /\n```\n\n```text\n```\n````\n\n```sh\ntrue\n```\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 1 || blocks[0].Line != 10 || blocks[0].Code != "true\n" {
		t.Fatalf("got %+v, want only the example at line 10", blocks)
	}
}
