// Package event defines the one event shape every source produces and every consumer reads,
// modelled on the Segment spec (identify, track, page, screen, group, alias).
package event

import (
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/id"
)

// The Segment call types.
const (
	Identify = "identify"
	Track    = "track"
	Page     = "page"
	Screen   = "screen"
	Group    = "group"
	Alias    = "alias"
)

// Sources of events.
const (
	SourceCommunity = "community" // actions members and staff take in Kizuna
	SourceTracking  = "tracking"  // the Segment-compatible /v1 API
	SourceCRM       = "crm"       // changes to CRM-side records: accounts, purchases, contracts, tickets
	SourceImport    = "import"
	SourceSystem    = "system"
)

// Event is one thing that happened. Field names follow the Segment spec on the wire.
type Event struct {
	MessageID   string `json:"messageId"`
	Type        string `json:"type"`
	Event       string `json:"event,omitempty"` // track: object-action name, e.g. "Member Signed Up"
	Name        string `json:"name,omitempty"`  // page and screen
	UserID      string `json:"userId,omitempty"`
	AnonymousID string `json:"anonymousId,omitempty"`
	ProfileID   string `json:"profileId,omitempty"` // resolved by the identity graph
	GroupID     string `json:"groupId,omitempty"`
	PreviousID  string `json:"previousId,omitempty"` // alias

	Properties map[string]any `json:"properties,omitempty"`
	Traits     map[string]any `json:"traits,omitempty"`
	Context    map[string]any `json:"context,omitempty"`

	OriginalTimestamp time.Time `json:"originalTimestamp,omitzero"` // the device's clock when it happened
	SentAt            time.Time `json:"sentAt,omitzero"`            // the device's clock when sent
	ReceivedAt        time.Time `json:"receivedAt"`                 // our clock on arrival
	Timestamp         time.Time `json:"timestamp"`                  // corrected: receivedAt - (sentAt - originalTimestamp)

	Source string `json:"source"`
}

// New returns an event of type typ that happened now, with a fresh message id and all server-side
// timestamps set to now. Community actions use this with SourceCommunity.
func New(typ, name, source string, now time.Time) Event {
	now = now.UTC()
	e := Event{MessageID: id.New(now), Type: typ, ReceivedAt: now, Timestamp: now, OriginalTimestamp: now, Source: source}
	if typ == Track {
		e.Event = name
	} else {
		e.Name = name
	}
	return e
}

// Community returns a community track event done by actor (see accounts.Principal.Actor): a
// member's id goes in userId; an actor that is not a person ("system", "api_key:ID",
// "anonymous-…") goes in anonymousId under "kizuna:", so the identity graph never takes it for a
// member.
func Community(name, actor string, now time.Time, props map[string]any) Event {
	ev := New(Track, name, SourceCommunity, now)
	switch {
	case actor == "":
		ev.AnonymousID = "kizuna:system"
	case actor == "system" || strings.HasPrefix(actor, "api_key:") || strings.HasPrefix(actor, "anonymous-"):
		ev.AnonymousID = "kizuna:" + actor
	default:
		ev.UserID = actor
	}
	ev.Properties = props
	return ev
}

// Validate checks what every event needs, naming the first field at fault.
func (e *Event) Validate() error {
	switch {
	case strings.TrimSpace(e.MessageID) == "":
		return errs.Invalid("messageId", "is required")
	case len(e.MessageID) > 100:
		return errs.Invalid("messageId", "must be at most 100 characters")
	}
	switch e.Type {
	case Identify, Page, Screen:
	case Track:
		if strings.TrimSpace(e.Event) == "" {
			return errs.Invalid("event", "is required for track calls")
		}
	case Group:
		if e.GroupID == "" {
			return errs.Invalid("groupId", "is required for group calls")
		}
	case Alias:
		if e.PreviousID == "" {
			return errs.Invalid("previousId", "is required for alias calls")
		}
	default:
		return errs.Invalid("type", "must be one of identify, track, page, screen, group, alias")
	}
	if e.UserID == "" && e.AnonymousID == "" && e.ProfileID == "" {
		return errs.Invalid("userId", "userId or anonymousId is required")
	}
	if e.ReceivedAt.IsZero() || e.Timestamp.IsZero() {
		return errs.Invalid("timestamp", "receivedAt and timestamp must be set")
	}
	if e.Source == "" {
		return errs.Invalid("source", "is required")
	}
	return nil
}

// CorrectTimestamp sets Timestamp from the device's clocks the way Segment does: the device's
// skew (sentAt against receivedAt) is removed from originalTimestamp.
func (e *Event) CorrectTimestamp() {
	switch {
	case e.OriginalTimestamp.IsZero():
		e.Timestamp = e.ReceivedAt
	case e.SentAt.IsZero():
		e.Timestamp = e.OriginalTimestamp
	default:
		e.Timestamp = e.ReceivedAt.Add(-e.SentAt.Sub(e.OriginalTimestamp))
	}
}
