package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/meetup"
)

// demoEvent is an event relative to the day the demo is seeded, with who is going and, for past
// events, who attended.
type demoEvent struct {
	Space    string
	Days     int // from today; negative for past events
	Hour     int // local start hour in Asia/Tokyo
	Hours    int
	In       meetup.EventInput
	Going    []string
	Attended []string
}

var demoEvents = []demoEvent{
	{Space: "user-group", Days: 17, Hour: 19, Hours: 2, Going: []string{haruto, yui, sota, mei, chen},
		In: meetup.EventInput{Title: "12月ユーザー会 in 東京「データ活用の第一歩」", Place: "東京都渋谷区 Kizuna オフィス 8F", Capacity: 30,
			Description: "ユーザー同士でデータ活用の事例を共有します。\n\n- 19:00 開場\n- 19:15 LT（3本）\n- 20:15 懇親会\n\n途中参加も歓迎です。"}},
	{Space: "product-qa", Days: 9, Hour: 11, Hours: 1, Going: []string{olivia, lucas, priya, riku},
		In: meetup.EventInput{Title: "Webinar: Getting started with segments", Online: true, URL: "https://meet.example.com/kizuna-segments",
			Description: "A 45-minute walkthrough of building your first segment, with time for questions. English with Japanese Q&A."}},
	{Space: "user-group", Days: -30, Hour: 19, Hours: 2, Attended: []string{haruto, aoi, riku},
		In: meetup.EventInput{Title: "10月オンライン勉強会「LINE連携のコツ」", Online: true, URL: "https://meet.example.com/kizuna-line",
			Description: "LINE公式アカウントとの連携について、設定のポイントを解説しました。", SurveyURL: "https://forms.example.com/october-survey"}},
}

// seedEvents creates the demo events, with RSVPs and past attendance.
func seedEvents(ctx context.Context, acc *accounts.Service, m *meetup.Service, now time.Time) error {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		return err
	}
	cm, err := acc.MemberByEmail(ctx, cm)
	if err != nil {
		return err
	}
	day := now.In(tokyo)
	for _, de := range demoEvents {
		in := de.In
		in.TimeZone = "Asia/Tokyo"
		in.StartsAt = time.Date(day.Year(), day.Month(), day.Day()+de.Days, de.Hour, 0, 0, 0, tokyo)
		in.EndsAt = in.StartsAt.Add(time.Duration(de.Hours) * time.Hour)
		ev, err := m.Create(ctx, cm.Principal(), de.Space, in)
		if err != nil {
			return fmt.Errorf("demo event %q: %w", in.Title, err)
		}
		for _, email := range de.Going {
			who, err := acc.MemberByEmail(ctx, email)
			if err != nil {
				return err
			}
			if _, err := m.RSVP(ctx, who.Principal(), ev.ID, meetup.Going); err != nil {
				return fmt.Errorf("demo RSVP to %q: %w", in.Title, err)
			}
		}
		for _, email := range de.Attended {
			who, err := acc.MemberByEmail(ctx, email)
			if err != nil {
				return err
			}
			if err := m.MarkAttended(ctx, cm.Principal(), ev.ID, who.ID); err != nil {
				return fmt.Errorf("demo attendance at %q: %w", in.Title, err)
			}
		}
	}
	return nil
}
