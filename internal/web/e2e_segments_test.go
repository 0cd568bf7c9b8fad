package web_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/testkit/e2e"
)

// TestBrowserSegments builds a segment through the form in headless Chromium: the live count
// follows each change (htmx, debounced), a condition and a group are added, the segment is saved
// and its page draws the size chart with uPlot. It also opens a segment with 60 days of history
// and the customer 360's segments. KIZUNA_SCREENSHOTS=DIR writes its PNGs.
func TestBrowserSegments(t *testing.T) {
	br := e2e.Need(t)
	s := newSiteOpts(t, siteOptions{})
	c := s.seedCustomer()
	s.seedProCustomer()
	ctx := context.Background()
	// Twenty more customers: names, companies and plans to count and list.
	names := []string{"伊藤 健", "渡辺 美咲", "中村 翔", "小林 結衣", "加藤 大輔", "吉田 さくら", "山本 蓮", "松本 陽菜", "井上 拓海", "木村 葵",
		"Emma Wilson", "Liam Chen", "Olivia Park", "Noah Schmidt", "Ava Rossi", "林 直樹", "清水 彩", "森 悠真", "池田 美月", "橋本 颯"}
	plans := []string{"enterprise", "pro", "pro", "free", "enterprise"}
	var evs []event.Event
	for i, n := range names {
		e := event.New(event.Identify, "", event.SourceTracking, time.Now().UTC().Add(-time.Duration(i+2)*time.Hour))
		e.UserID = fmt.Sprintf("u-%d", 300+i)
		e.Traits = map[string]any{"name": n, "email": fmt.Sprintf("user%02d@example.jp", i), "plan": plans[i%len(plans)], "company": fmt.Sprintf("株式会社サンプル%d", i%4+1)}
		evs = append(evs, e)
	}
	if err := s.prf.Consumer().Handle(ctx, evs); err != nil {
		t.Fatal(err)
	}
	sg, err := s.seg.Create(ctx, accounts.System(), "エンタープライズ顧客", []byte(`{"trait":"plan","op":"eq","value":"enterprise"}`))
	if err != nil {
		t.Fatal(err)
	}
	// Sixty days of history, as the hourly recomputation would have left it.
	start := time.Now().UTC().Truncate(time.Hour).AddDate(0, 0, -60)
	for d := range 60 {
		n := 2 + d/10 + (d%7)/3
		if _, err := s.db.W.Exec(`INSERT INTO segment_sizes (segment_id, at, count) VALUES ($1, $2, $3)`,
			sg.ID, db.Now(start.AddDate(0, 0, d)), n); err != nil {
			t.Fatal(err)
		}
	}
	token, err := s.acc.SetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	br.Run(t, 120*time.Second, filepath.Join("e2e", "segments.mjs"), s.URL, "/setup?token="+token, sg.ID, c.root)

	list, err := s.seg.List(ctx, accounts.System())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "配信できる Pro 顧客" || list[0].Count != 6 {
		t.Fatalf("the segment the browser built: %+v", list)
	}
}
