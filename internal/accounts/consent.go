package accounts

import (
	"context"
	"time"
)

// Channels and purposes a member may opt in to on the permission screen. The words are the
// consent ledger's: channel × purpose → opted in or out.
const (
	ChannelEmail       = "email"
	ChannelLINE        = "line"
	PurposeMarketing   = "marketing"
	PurposeProductNews = "product_news"
)

// Sources of the consents accounts records.
const (
	ConsentSourceSocialSignUp = "social_signup" // the permission screen of a sign-up through a provider
	ConsentSourceSocialLink   = "social_link"   // the permission screen of linking a provider
)

// ConsentChoice is one box on a consent form: a channel and purpose, ticked or not. An unticked
// box is a recorded "no", not an absence of answer.
type ConsentChoice struct {
	Channel string `json:"channel"`
	Purpose string `json:"purpose"`
	OptedIn bool   `json:"opted_in"`
}

// ConsentEvidence is how and when choices were made, as the ledger keeps it: Japan's Act on
// Specified Electronic Mail and the GDPR both ask the sender to prove consent.
type ConsentEvidence struct {
	At          time.Time `json:"at"`
	Source      string    `json:"source"`       // ConsentSourceSocialSignUp, ConsentSourceSocialLink
	TextVersion string    `json:"text_version"` // the id of the wording the member saw, language included
	Locale      string    `json:"locale"`
	Provider    string    `json:"provider"` // the login provider key the screen was about
	IP          string    `json:"ip"`
	UserAgent   string    `json:"user_agent"`
}

// ConsentRecorder keeps a member's consent choices: the consent ledger implements it. Accounts
// calls it after the sign-up or link the choices were made with has committed; a failure is
// logged and leaves the choices unrecorded, which the ledger reads as "unknown" (nothing is sent).
type ConsentRecorder interface {
	RecordConsents(ctx context.Context, memberID string, choices []ConsentChoice, evidence ConsentEvidence) error
}

// recordConsents hands choices to the recorder. Without one (no ledger wired) they are logged as
// dropped, so the gap is visible.
func (s *Service) recordConsents(ctx context.Context, memberID string, choices []ConsentChoice, ev ConsentEvidence) {
	if len(choices) == 0 {
		return
	}
	if s.consents == nil {
		s.log.WarnContext(ctx, "no consent ledger is wired: the member's consent choices are not recorded", "member", memberID, "source", ev.Source, "choices", len(choices))
		return
	}
	if err := s.consents.RecordConsents(ctx, memberID, choices, ev); err != nil {
		s.log.ErrorContext(ctx, "recording consent choices", "member", memberID, "source", ev.Source, "err", err)
	}
}
