package search_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/search"
)

var ctx = context.Background()

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

type fixture struct {
	db *db.DB
	ix *search.Index
}

func newFixture(t *testing.T, e db.Engine) *fixture {
	t.Helper()
	d := dbtest.Open(t, e, search.Migrations())
	return &fixture{db: d, ix: search.New(d)}
}

func (f *fixture) put(t *testing.T, docs ...search.Doc) {
	t.Helper()
	err := f.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, d := range docs {
			if err := f.ix.Put(ctx, tx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ids searches and returns the ids of the hits in order.
func (f *fixture) ids(t *testing.T, q search.Query) []string {
	t.Helper()
	hits, _, err := f.ix.Search(ctx, q)
	if err != nil {
		t.Fatalf("search %q: %v", q.Text, err)
	}
	out := []string{}
	for _, h := range hits {
		out = append(out, h.ID)
	}
	return out
}

// everywhere is a query that may see every space of the corpus and docs outside spaces.
func everywhere(text string) search.Query {
	return search.Query{Text: text, SpaceIDs: []string{"s1", "s2"}, NoSpace: true}
}

func corpus() []search.Doc {
	return []search.Doc{
		{Kind: "post", ID: "p1", SpaceID: "s1", Title: "ミートアップのお知らせ", Body: "今日は東京都でミートアップを開催します", URL: "/posts/p1", AuthorID: "m1", At: t0},
		{Kind: "post", ID: "p2", SpaceID: "s2", Title: "Release notes", Body: "The new Dashboard ships in Osaka today", URL: "/posts/p2", AuthorID: "m2", At: t0.Add(time.Minute)},
		{Kind: "comment", ID: "c1", SpaceID: "s1", Title: "Re: ミートアップのお知らせ", Body: "京都からも参加できますか？ dashboard の話も聞きたいです", URL: "/posts/p1#c1", AuthorID: "m2", At: t0.Add(2 * time.Minute)},
		{Kind: "member", ID: "m1", Title: "中村 結衣", Body: "東京のプロダクトマネージャー", URL: "/members/m1", At: t0.Add(3 * time.Minute)},
		{Kind: "post", ID: "p3", SpaceID: "secret", Title: "社外秘", Body: "東京オフィスの移転計画 dashboard", URL: "/posts/p3", AuthorID: "m1", At: t0.Add(4 * time.Minute)},
		{Kind: "article", ID: "a1", Title: "Pricing", Body: "We now give 100% of the fees back; 100 percent is a_lot", URL: "/articles/a1", At: t0.Add(5 * time.Minute)},
	}
}

func TestSearchFindsSubstrings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		f.put(t, corpus()...)
		for _, c := range []struct {
			q    string
			want []string
		}{
			{"ミートアップ", []string{"c1", "p1"}},  // mid-sentence, 3+ characters (title and body)
			{"東京", []string{"m1", "p1"}},      // two characters: no trigram
			{"京", []string{"m1", "c1", "p1"}}, // one character
			{"東京都", []string{"p1"}},
			{"都で", []string{"p1"}},
			{"DASHBOARD", []string{"c1", "p2"}}, // English, case-insensitive
			{"dashboard osaka", []string{"p2"}}, // AND
			{"dashBoard 京都", []string{"c1"}},    // AND of a long and a short term
			{"東京 ミートアップ", []string{"p1"}},
			{"ミートアップ 大阪", []string{}},
			{"100%", []string{"a1"}}, // % is literal
			{"0%", []string{"a1"}},
			{"100 percent", []string{"a1"}},
			{"a_lot", []string{"a1"}}, // _ is literal
			{"a%lot", []string{}},
			{"t_day", []string{}},
			{`"dashboard"`, []string{}}, // quotes are searched for, not FTS syntax
			{"ship* OR osaka", []string{}},
		} {
			if got := f.ids(t, everywhere(c.q)); !slices.Equal(got, c.want) {
				t.Errorf("search %q = %v, want %v", c.q, got, c.want)
			}
		}
	})
}

func TestSearchFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		f.put(t, corpus()...)
		for _, c := range []struct {
			name string
			q    search.Query
			want []string
		}{
			{"kinds", search.Query{Text: "東京", Kinds: []string{"member"}, SpaceIDs: []string{"s1"}, NoSpace: true}, []string{"m1"}},
			{"two kinds", search.Query{Text: "ミートアップ", Kinds: []string{"post", "member"}, SpaceIDs: []string{"s1"}}, []string{"p1"}},
			{"space not visible", search.Query{Text: "dashboard", SpaceIDs: []string{"s1", "s2"}, NoSpace: true}, []string{"c1", "p2"}},
			{"secret space visible", search.Query{Text: "dashboard", SpaceIDs: []string{"secret"}}, []string{"p3"}},
			{"no space docs hidden", search.Query{Text: "東京", SpaceIDs: []string{"s1"}}, []string{"p1"}},
			{"only no space docs", search.Query{Text: "東京", NoSpace: true}, []string{"m1"}},
			{"sees nothing", search.Query{Text: "東京"}, []string{}},
			{"empty space id is not NoSpace", search.Query{Text: "東京", SpaceIDs: []string{""}}, []string{}},
		} {
			if got := f.ids(t, c.q); !slices.Equal(got, c.want) {
				t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			}
		}
	})
}

func TestSearchRefusesEmptyQuery(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		for _, q := range []string{"", "   ", "\u3000\t"} {
			_, _, err := f.ix.Search(ctx, everywhere(q))
			if e, ok := errs.As(err); !ok || e.Kind != errs.KindInvalid || e.Field != "q" {
				t.Errorf("search %q: err = %v, want invalid q", q, err)
			}
		}
		_, _, err := f.ix.Search(ctx, search.Query{Text: "x", NoSpace: true, After: "not a cursor!"})
		if e, ok := errs.As(err); !ok || e.Field != "after" {
			t.Errorf("bad cursor: err = %v", err)
		}
	})
}

func TestPutUpdatesAndDeleteRemoves(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		f.put(t, corpus()...)
		p1 := corpus()[0]
		p1.Body = "大阪でハッカソンを開催します"
		p1.Title = "ハッカソン"
		f.put(t, p1)
		if got := f.ids(t, everywhere("ミートアップ")); !slices.Equal(got, []string{"c1"}) {
			t.Errorf("old text still found: %v", got)
		}
		hits, _, err := f.ix.Search(ctx, everywhere("ハッカソン"))
		if err != nil || len(hits) != 1 || hits[0].ID != "p1" || hits[0].Title != "ハッカソン" || !hits[0].At.Equal(t0) || hits[0].URL != "/posts/p1" || hits[0].SpaceID != "s1" || hits[0].AuthorID != "m1" {
			t.Fatalf("updated doc: %+v, %v", hits, err)
		}
		var n int
		f.db.R.QueryRow(`SELECT count(*) FROM search_docs WHERE id = 'p1'`).Scan(&n)
		if n != 1 {
			t.Errorf("%d rows for p1 after two puts", n)
		}
		// The same id under another kind is another document.
		f.put(t, search.Doc{Kind: "event", ID: "p1", Title: "ハッカソン当日", At: t0})
		if got := f.ids(t, everywhere("ハッカソン")); len(got) != 2 {
			t.Errorf("two kinds, one id: %v", got)
		}
		err = f.db.Tx(ctx, func(tx *sql.Tx) error {
			if err := f.ix.Delete(ctx, tx, "post", "p1"); err != nil {
				return err
			}
			return f.ix.Delete(ctx, tx, "post", "never-indexed")
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := f.ids(t, everywhere("大阪")); len(got) != 0 {
			t.Errorf("deleted doc found: %v", got)
		}
		if got := f.ids(t, everywhere("ハッカソン")); !slices.Equal(got, []string{"p1"}) {
			t.Errorf("event doc after deleting the post: %v", got)
		}
		if e == db.SQLite {
			// The external-content FTS table must stay consistent with its content.
			if _, err := f.db.W.Exec(`INSERT INTO search_fts (search_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
				t.Errorf("fts integrity: %v", err)
			}
		}
	})
}

func TestSearchPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		var docs []search.Doc
		var want []string
		for i := range 25 {
			at := t0.Add(time.Duration(i/2) * time.Second) // pairs share a time: the id breaks the tie
			d := search.Doc{Kind: "post", ID: fmt.Sprintf("p%02d", i), SpaceID: "s1", Title: "週報", Body: fmt.Sprintf("第%d回の東京ミートアップ", i), At: at}
			docs = append(docs, d)
			want = append([]string{d.ID}, want...)
		}
		f.put(t, docs...)
		for _, text := range []string{"ミートアップ", "東京"} {
			var got []string
			after := ""
			pages := 0
			for {
				hits, next, err := f.ix.Search(ctx, search.Query{Text: text, SpaceIDs: []string{"s1"}, Limit: 10, After: after})
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, h := range hits {
					got = append(got, h.ID)
				}
				if next == "" {
					break
				}
				after = next
			}
			if pages != 3 || !slices.Equal(got, want) {
				t.Errorf("%s: %d pages %v, want %v", text, pages, got, want)
			}
		}
		hits, next, err := f.ix.Search(ctx, search.Query{Text: "東京", SpaceIDs: []string{"s1"}, Limit: 1000})
		if err != nil || len(hits) != 25 || next != "" {
			t.Errorf("limit above max: %d hits, next %q, %v", len(hits), next, err)
		}
		hits, _, _ = f.ix.Search(ctx, search.Query{Text: "東京", SpaceIDs: []string{"s1"}})
		if len(hits) != search.DefaultLimit {
			t.Errorf("default limit: %d hits", len(hits))
		}
	})
}

func TestHitSnippetIsEscaped(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		f.put(t, search.Doc{Kind: "post", ID: "x", SpaceID: "s1", Title: "<b>title</b>", Body: `<script>alert(1)</script>東京 & "more"`, At: t0})
		hits, _, err := f.ix.Search(ctx, search.Query{Text: "東京", SpaceIDs: []string{"s1"}})
		if err != nil || len(hits) != 1 {
			t.Fatalf("hits %v, %v", hits, err)
		}
		want := `&lt;script&gt;alert(1)&lt;/script&gt;<mark>東京</mark> &amp; &#34;more&#34;`
		if hits[0].Snippet != want {
			t.Errorf("snippet = %s\nwant      %s", hits[0].Snippet, want)
		}
		if hits[0].Title != "<b>title</b>" {
			t.Errorf("title is returned as written, got %q", hits[0].Title)
		}
		hits, _, _ = f.ix.Search(ctx, search.Query{Text: "SCRIPT", SpaceIDs: []string{"s1"}})
		if len(hits) != 1 || !strings.HasPrefix(hits[0].Snippet, "&lt;<mark>script</mark>&gt;") {
			t.Errorf("case-insensitive mark: %v", hits)
		}
	})
}
