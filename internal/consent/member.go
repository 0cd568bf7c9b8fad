package consent

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/identity"
)

// RecordConsents records a member's choices on a consent form of their own (the social
// permission screen) as permission_screen records with the form's evidence, on the member's
// profile: the one their user id is on, made now if the profile consumer has not yet seen their
// sign-up, so the choice counts from the moment it was made. It makes Ledger an
// accounts.ConsentRecorder.
func (l *Ledger) RecordConsents(ctx context.Context, memberID string, choices []accounts.ConsentChoice, ev accounts.ConsentEvidence) error {
	ins := make([]Input, len(choices))
	for i, c := range choices {
		st := StatusOptedOut
		if c.OptedIn {
			st = StatusOptedIn
		}
		ins[i] = Input{Channel: Channel(c.Channel), Purpose: Purpose(c.Purpose), Status: st, RecordedAt: ev.At,
			Source: SourcePermissionScreen, TextVersion: ev.TextVersion, IP: ev.IP, UserAgent: ev.UserAgent}
	}
	now := l.now()
	if err := Validate(ins, now, SourcePermissionScreen); err != nil {
		return err
	}
	return l.outbox.Tx(ctx, func(tx *sql.Tx) error {
		profileID, err := l.identity.Resolve(ctx, tx, []identity.ID{{Type: "user_id", Value: memberID}}, "consent given on "+ev.Source)
		if err != nil {
			return fmt.Errorf("finding the profile of member %s: %w", memberID, err)
		}
		_, _, err = l.Apply(ctx, tx, Recording{Actor: memberID, ProfileID: profileID, Inputs: ins, Now: now, DefaultSource: SourcePermissionScreen})
		return err
	})
}
