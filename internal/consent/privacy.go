package consent

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/dsr"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/identity"
)

var _ dsr.Part = (*Ledger)(nil)

// ExportSubject returns the subject's consent history with its evidence, the suppression list's
// entries for their addresses, and the records of their data provided to third parties (APPI
// Art. 33(5) lets the person see them).
func (l *Ledger) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	if len(sub.ProfileIDs) == 0 {
		return nil, nil
	}
	in, args := familyIn(sub.ProfileIDs, 1)
	recs, err := scanRecords(l.db.R.QueryContext(ctx, recordSelect+` WHERE profile_id `+in+` ORDER BY recorded_at, id`, args...))
	if err != nil {
		return nil, err
	}
	if recs == nil {
		recs = []Record{}
	}
	sup, err := l.SuppressionsOf(ctx, accounts.System(), sub.Root)
	if err != nil {
		return nil, err
	}
	prov, err := l.Provisions(ctx, accounts.System(), sub.Root)
	if err != nil {
		return nil, err
	}
	return []dsr.Table{{Name: "consents", Rows: recs}, {Name: "suppressions", Rows: sup}, {Name: "third_party_provisions", Rows: prov}}, nil
}

// EraseSubject keeps the consent records, which are the evidence of what the person allowed and
// when (特定電子メール法 Art. 3(2), GDPR Art. 7(1)), and the provision records, which APPI
// Art. 29 requires for three years, but without anything that says who the person was: they
// name the tombstone instead of the profile, and lose the IP address and user agent. Every
// address of the person (emails, phone numbers, LINE ids, user ids) goes on the suppression list
// as erased, which keeps only a hash of it and blocks every later message to it.
func (l *Ledger) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	for _, p := range e.ProfileIDs {
		for _, q := range []string{
			// A statement the tombstone holds already (the same one recorded for two profiles of
			// the family) is kept once.
			`DELETE FROM consent_records WHERE profile_id = $1 AND EXISTS (SELECT 1 FROM consent_records t WHERE t.profile_id = $2
				AND t.channel = consent_records.channel AND t.purpose = consent_records.purpose AND t.recorded_at = consent_records.recorded_at
				AND t.status = consent_records.status AND t.source = consent_records.source)`,
			`UPDATE consent_records SET profile_id = $2, ip = '', user_agent = '' WHERE profile_id = $1`,
			`UPDATE consent_provisions SET profile_id = $2 WHERE profile_id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, p, e.Tombstone); err != nil {
				return fmt.Errorf("erasing consents of %s: %w", p, err)
			}
		}
	}
	for _, m := range e.MemberIDs {
		for _, q := range []string{
			`UPDATE consent_records SET recorded_by = $2 WHERE recorded_by = $1`,
			`UPDATE consent_provisions SET recorded_by = $2 WHERE recorded_by = $1`,
			`UPDATE consent_suppressions SET created_by = $2 WHERE created_by = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, m, e.Tombstone); err != nil {
				return fmt.Errorf("erasing consents recorded by %s: %w", m, err)
			}
		}
	}
	ids := make([]identity.Identifier, len(e.Identifiers))
	for i, it := range e.Identifiers {
		ids[i] = identity.Identifier{Type: it.Type, Value: it.Value}
	}
	for _, ch := range Channels {
		for _, addr := range channelAddresses(ch, ids) {
			_, _, err := l.ApplySuppression(ctx, tx, "system", SuppressionInput{Channel: ch, Value: addr, Reason: SuppressErased}, e.At)
			if err != nil {
				if errs.KindOf(err) == errs.KindInvalid {
					continue // not an address this channel can hold, so nothing could be sent to it
				}
				return fmt.Errorf("suppressing an erased address: %w", err)
			}
		}
	}
	return nil
}
