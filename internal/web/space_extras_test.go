package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/community"
)

// testClock is a settable clock for the community service.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestMuteSpace(t *testing.T) {
	s := newSite(t)
	s.spaces()
	ja := s.member("ja@example.com", "ja")
	en := s.member("en@example.com", "en")
	if strings.Contains(ja.get("/s/guide").Body, `action="/s/guide/mute"`) {
		t.Fatal("a member who did not join is offered to mute")
	}
	ja.post("/s/guide/mute", url.Values{"muted": {"1"}}).expect(t, http.StatusConflict, "先にスペースに参加してください")
	ja.post("/s/guide/join", nil)
	ja.get("/s/guide").expect(t, http.StatusOK, `action="/s/guide/mute"`, `name="muted" value="1"`, "ミュート")
	// htmx: the button comes back in its new state.
	ja.htmx("/s/guide/mute", url.Values{"muted": {"1"}}).expect(t, http.StatusOK, `name="muted" value="0"`, "ミュート中・解除")
	ja.get("/s/guide").expect(t, http.StatusOK, "ミュート中・解除")
	ja.htmx("/s/guide/mute", url.Values{"muted": {"0"}}).expect(t, http.StatusOK, `name="muted" value="1"`)
	// Without JavaScript: back to the space with a confirmation, in the reader's language.
	en.post("/s/guide/join", nil)
	en.post("/s/guide/mute", url.Values{"muted": {"1"}}).redirectsTo(t, "/s/guide?notice=muted")
	en.get("/s/guide?notice=muted").expect(t, http.StatusOK, "Muted: this space no longer notifies you.", "Muted · unmute")
	s.browser("en").post("/s/guide/mute", url.Values{"muted": {"1"}}).redirectsTo(t, "/login?next=%2F")
}

func TestUnansweredForADayChip(t *testing.T) {
	clock := &testClock{t: time.Now()}
	s := newSiteClock(t, nil, clock.now)
	s.spaces()
	cs := s.member("cs@example.com", "ja")
	s.member("asker@example.com", "en")
	s.postAs("asker@example.com", "guide", community.PostInput{Kind: community.Question, Title: "昨日からの質問", Body: "誰か教えてください"})
	clock.add(25 * time.Hour)
	s.postAs("asker@example.com", "guide", community.PostInput{Kind: community.Question, Title: "さっきの質問", Body: "急ぎではありません"})

	cs.get("/s/guide?tab=unanswered").expect(t, http.StatusOK, "24 時間以上未回答", `href="/s/guide?tab=unanswered&amp;waiting=24h"`, "昨日からの質問", "さっきの質問")
	page := cs.get("/s/guide?tab=unanswered&waiting=24h")
	page.expect(t, http.StatusOK, `aria-current="page">24 時間以上未回答`, `aria-current="page">回答なし`, "昨日からの質問")
	if strings.Contains(page.Body, "さっきの質問") {
		t.Fatal("the chip lists a question asked an hour ago")
	}
	s.browser("en").get("/s/guide?tab=unsolved").expect(t, http.StatusOK, "Unanswered for 24h&#43;")
	if strings.Contains(cs.get("/s/guide").Body, "waiting=24h") {
		t.Fatal("the chip shows outside the question tabs")
	}
}
