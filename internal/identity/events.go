package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/kizuna-community/kizuna/internal/event"
)

// eventIDs lists the identifiers an event carries.
//
// An alias's previousId has no type on the wire. It takes the type it already has in the graph
// (user_id before anonymous_id); an unknown one is a user_id when it looks like the event's
// userId (same shape: both numeric, both UUIDs, or both emails) and an anonymous_id otherwise,
// since aliasing a device id to a new user id is the common call. An alias of one user id to
// another is therefore refused by the one-user_id-per-profile limit (logged): merging two accounts
// is a decision for a person, not for a tracking call.
func (g *Graph) eventIDs(ctx context.Context, tx *sql.Tx, ev *event.Event) ([]ID, error) {
	ids := plainIDs(ev)
	if ev.Type == event.Alias && ev.PreviousID != "" && !strings.HasPrefix(ev.PreviousID, "kizuna:") {
		t, err := g.previousType(ctx, tx, ev.PreviousID, ev.UserID)
		if err != nil {
			return nil, err
		}
		ids = append(ids, ID{Type: t, Value: ev.PreviousID})
	}
	return ids, nil
}

// plainIDs are the identifiers of an event that need no lookup: all but an alias's previousId.
func plainIDs(ev *event.Event) []ID {
	var ids []ID
	if ev.UserID != "" {
		ids = append(ids, ID{Type: "user_id", Value: ev.UserID})
	}
	if ev.AnonymousID != "" && !strings.HasPrefix(ev.AnonymousID, "kizuna:") {
		ids = append(ids, ID{Type: "anonymous_id", Value: ev.AnonymousID})
	}
	if s := traitString(ev, "email"); s != "" {
		ids = append(ids, ID{Type: "email", Value: s})
	}
	if s := traitString(ev, "phone"); s != "" {
		ids = append(ids, ID{Type: "phone", Value: s})
	}
	if ev.Source == event.SourceCommunity {
		ids = append(ids, externalIDs(ev)...)
	}
	return ids
}

// ContextKeys are the fields of an event's context the graph reads (traitString, externalIDs): a
// consumer that decodes only part of each event must decode these.
var ContextKeys = []string{"traits", "externalIds"}

// externalIDs reads context.externalIds, Segment's list of other systems' ids for the person
// ({"id": "U4af…", "type": "social:line"}), from Kizuna's own events only: accounts puts a
// member's linked social accounts there. A tracking call's write key may sit in a public web
// page, so the tracking API cannot claim another system's ids for a visitor this way.
func externalIDs(ev *event.Event) []ID {
	var list []any
	switch x := ev.Context["externalIds"].(type) {
	case []any:
		list = x
	case []map[string]any: // an event built in this process, not yet through JSON
		for _, m := range x {
			list = append(list, m)
		}
	}
	var ids []ID
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		t, _ := m["type"].(string)
		v, _ := m["id"].(string)
		if t != "" && v != "" {
			ids = append(ids, ID{Type: t, Value: v})
		}
	}
	return ids
}

func (g *Graph) previousType(ctx context.Context, tx *sql.Tx, prev, userID string) (string, error) {
	for _, t := range []string{"user_id", "anonymous_id"} {
		k, err := normaliseOne(t, prev)
		if err != nil {
			continue
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM identity_identifiers WHERE type = $1 AND value = $2`, k.Type, k.Value).Scan(&one)
		if err == nil {
			return t, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("looking up previousId: %w", err)
		}
	}
	if userID != "" && shape(prev) == shape(userID) && shape(prev) != "" {
		return "user_id", nil
	}
	return "anonymous_id", nil
}

// shape classifies an id as "digits", "uuid", "email" or "" (anything else).
func shape(s string) string {
	switch {
	case s == "":
		return ""
	case strings.Trim(s, "0123456789") == "":
		return "digits"
	case len(s) == 36 && strings.Count(s, "-") == 4:
		return "uuid"
	case strings.Contains(s, "@"):
		return "email"
	}
	return ""
}

// traitString returns traits[name], or context.traits[name], when it is a string.
func traitString(ev *event.Event, name string) string {
	if s, ok := ev.Traits[name].(string); ok && s != "" {
		return s
	}
	if ct, ok := ev.Context["traits"].(map[string]any); ok {
		if s, ok := ct[name].(string); ok {
			return s
		}
	}
	return ""
}
