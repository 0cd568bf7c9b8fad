package event

import (
	"testing"
	"time"
)

func TestCommunityNamesWhoActed(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ actor, userID, anonymousID string }{
		{"01M84HJVCNFNQBJZEY9BQZ6J23", "01M84HJVCNFNQBJZEY9BQZ6J23", ""},
		{"system", "", "kizuna:system"},
		{"", "", "kizuna:system"},
		{"api_key:01M84F6P8PN7YVAA63WYC8132B", "", "kizuna:api_key:01M84F6P8PN7YVAA63WYC8132B"},
		{"anonymous-survey", "", "kizuna:anonymous-survey"},
	} {
		ev := Community("Post Created", tc.actor, now, map[string]any{"post_id": "p"})
		if ev.UserID != tc.userID || ev.AnonymousID != tc.anonymousID || ev.Event != "Post Created" || ev.Source != SourceCommunity {
			t.Errorf("Community(%q) = userId %q anonymousId %q", tc.actor, ev.UserID, ev.AnonymousID)
		}
		if err := ev.Validate(); err != nil {
			t.Errorf("Community(%q) is not a valid event: %v", tc.actor, err)
		}
	}
}
