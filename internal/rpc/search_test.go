package rpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
)

// searchPeople are the customers TestHostileQueries searches, with names
// that hold what the queries play with: quotes, FTS5 operators, diacritics,
// combining marks, right-to-left and CJK text, emoji, a script younger than
// SQLite's tokenizer tables.
var searchPeople = []struct{ name, email, address string }{
	{"Ada Lovelace", "ada@example.com", "12 St James Sq, London"},
	{"Grace Hopper", "grace@example.com", "Arlington"},
	{`Miles O'Brien "Chief"`, "obrien@example.com", ""},
	{"NEAR AND OR NOT", "near@example.com", "name: colon street"},
	{"Zoë Ångström", "zoe@example.com", "Uppsala"},
	{"José Cafe\u0301", "jose@example.com", ""},
	{"שרה כהן", "sarah@example.com", "תל אביב"},
	{"東京 太郎", "taro@example.com", "東京都"},
	{"Emoji 😀 Fan", "emoji@example.com", ""},
	{"Ωmega Σίσυφος", "omega@example.com", ""},
	{"𞤀𞤁 Adlam", "adlam@example.com", ""},
	{"User User", "user@example.com", ""},
}

// hostileQueries are search queries a client may send, by name.
func hostileQueries() map[string]string {
	return map[string]string{
		"NUL": "\x00", "NULAfterWord": "ada\x00", "NULBetweenWords": "ada\x00lovelace", "NULInWord": "lov\x00elace",
		"ControlChars": "ada\x01\x02lov", "DEL": "\x7f", "NextLine": "ada\u0085grace", "Escape": "\x1b[31mada",
		"DoubleQuote": `"`, "SingleQuote": `'`, "QuotedWord": `"ada"`, "Apostrophe": "o'brien", "UnclosedQuote": `"chief`,
		"AND": "AND", "OR": "OR", "NOT": "NOT", "NEAR": "NEAR", "AndBetween": "ada AND grace", "OrBetween": "ada OR grace",
		"NotBefore": "NOT ada", "NearCall": "NEAR(ada grace)", "Star": "*", "StarSuffix": "ada*", "Caret": "^ada",
		"Colon": ":", "ColonSuffix": "ada:", "Parens": "( )", "OpenParen": "(ada", "Minus": "-ada", "MinusWord": "ada -grace",
		"Plus": "+ada", "ColumnFilter": "name:ada", "EmailFilter": "email:grace", "BraceFilter": "{name}:ada",
		"LongWord": strings.Repeat("a", 200), "LongAccentedWord": strings.Repeat("é", 200), "TooLong": strings.Repeat("a", 201),
		"Emoji": "😀", "EmojiInWord": "emoji😀", "CombiningMark": "cafe\u0301", "Precomposed": "café", "BareMark": "\u0301",
		"Diacritics": "ångström", "NoDiacritics": "angstrom", "Umlaut": "zoë", "RTL": "שרה", "RTLOverride": "\u202eada",
		"CJK": "東京", "Greek": "σίσυφος", "GreekUpper": "ΣΊΣΥΦΟΣ", "FinalSigma": "σισυφος", "YoungScript": "𞤀",
		"OnlyPunctuation": "!!! ?? -", "OnlySpaces": "   ", "OnlyTabs": "\t\n\r", "NoBreakSpace": "ada\u00a0lovelace",
		"ZeroWidthSpace": "ada\u200blovelace", "Repeated40": strings.Repeat("user ", 40), "UserOnce": "user", "Repeated100": strings.Repeat("a ", 100),
		"Repeated1000": strings.Repeat("ada ", 1000), "EightWords": "a b c d e f g h", "NineWords": "a b c d e f g h i",
		"Email": "ada@example.com", "Domain": "example.com", "At": "@", "Digits": "12", "SQL": "'; DROP TABLE customers;--",
		"Percent": "%", "Underscore": "_", "Backslash": `\`,
	}
}

// searchResult is what one engine answered to one query.
type searchResult struct {
	Code  string
	IDs   []int64
	Total int32
}

// TestHostileQueries sends every hostile query to ListCustomers, as
// Connect JSON (which carries NUL and control characters as \u escapes), on
// a server over each engine holding the same customers, and checks that no
// query is an internal error and that both engines give the same answer:
// the same code, and the same customers in the same order with the same
// total. Control characters separate words, as white space does.
func TestHostileQueries(t *testing.T) {
	results := map[string]map[string]searchResult{} // engine → query name → result
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		srv := startServerOn(t, e, engine.Options{})
		client := customerv1connect.NewCustomerServiceClient(http1, srv.url)
		for _, p := range searchPeople {
			c := &customerv1.Customer{Name: p.name, Email: p.email}
			if p.address != "" {
				c.Address = &p.address
			}
			if _, err := client.CreateCustomer(context.Background(), &customerv1.CreateCustomerRequest{Customer: c}); err != nil {
				t.Fatalf("create %s: %v", p.email, err)
			}
		}
		got := map[string]searchResult{}
		for name, q := range hostileQueries() {
			body, err := json.Marshal(map[string]any{"query": q, "orderBy": "name", "pageSize": 1000, "includeTotal": true})
			if err != nil {
				t.Fatal(err)
			}
			got[name] = listRaw(t, srv.url, "application/json", body)
		}
		// Invalid UTF-8 cannot reach the store: both encodings refuse it.
		got["InvalidUTF8JSON"] = listRaw(t, srv.url, "application/json", []byte("{\"query\":\"ada \xff\"}"))
		got["InvalidUTF8Proto"] = listRaw(t, srv.url, "application/proto",
			protowire.AppendString(protowire.AppendTag(nil, 3, protowire.BytesType), "ada \xff"))

		for name, r := range got {
			if r.Code != "ok" && r.Code != "invalid_argument" {
				t.Errorf("%s: %s", name, r.Code)
			}
		}
		// What the decisions mean, on each engine.
		same := func(a, b string) {
			t.Helper()
			if !slices.Equal(got[a].IDs, got[b].IDs) || got[a].Code != got[b].Code {
				t.Errorf("%s answered %+v, %s %+v: want the same", a, got[a], b, got[b])
			}
		}
		same("NULBetweenWords", "NoBreakSpace") // NUL separates words, as white space does
		same("NULAfterWord", "Minus")           // "ada": -ada is a word "ada" in FTS5 terms
		same("Repeated40", "UserOnce")          // repeated words collapse
		for _, name := range []string{"NineWords", "TooLong", "Repeated1000", "InvalidUTF8JSON", "InvalidUTF8Proto"} {
			if got[name].Code != "invalid_argument" {
				t.Errorf("%s: %+v, want invalid_argument", name, got[name])
			}
		}
		if len(got["NULBetweenWords"].IDs) != 1 || len(got["NUL"].IDs) != len(searchPeople) {
			t.Errorf("NUL: %+v and %+v, want Ada and everyone (an empty query)", got["NULBetweenWords"], got["NUL"])
		}
		results[e.Name] = got
	})
	sqlite, pg := results["SQLite"], results["PostgreSQL"]
	if sqlite == nil || pg == nil {
		t.Skip("comparing the engines needs both")
	}
	for name, want := range sqlite {
		t.Logf("%-18s %s %v total %d", name, want.Code, want.IDs, want.Total)
		if got := pg[name]; !equalResults(got, want) {
			t.Errorf("%s: PostgreSQL answered %+v, SQLite %+v", name, got, want)
		}
	}
}

func equalResults(a, b searchResult) bool {
	return a.Code == b.Code && slices.Equal(a.IDs, b.IDs) && a.Total == b.Total
}

// listRaw posts body to ListCustomers with contentType and returns the
// code, the ids and the total of the answer.
func listRaw(t *testing.T, url, contentType string, body []byte) searchResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+svcPath+"ListCustomers", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http1.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Code string }
		if err := json.Unmarshal(data, &e); err != nil || e.Code == "" {
			return searchResult{Code: fmt.Sprintf("http-%d", resp.StatusCode)}
		}
		return searchResult{Code: e.Code}
	}
	var res customerv1.ListCustomersResponse
	if contentType == "application/json" {
		err = protojson.Unmarshal(data, &res)
	} else {
		err = proto.Unmarshal(data, &res)
	}
	if err != nil {
		t.Fatalf("decode %q: %v", data, err)
	}
	r := searchResult{Code: "ok", Total: res.TotalSize}
	for _, c := range res.Customers {
		r.IDs = append(r.IDs, c.Id)
	}
	return r
}
