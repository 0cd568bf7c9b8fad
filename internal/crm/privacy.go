package crm

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
)

var _ dsr.Part = (*Service)(nil)

// ExportSubject returns the CRM records about the subject: purchases, support tickets, and the
// company account their profile belongs to with its contracts.
func (s *Service) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	if len(sub.ProfileIDs) == 0 {
		return nil, nil
	}
	r, err := s.ForFamily(ctx, accounts.System(), sub.ProfileIDs)
	if err != nil {
		return nil, err
	}
	companies := []Account{}
	if r.Account != nil {
		companies = append(companies, *r.Account)
	}
	return []dsr.Table{
		{Name: "crm_purchases", Rows: nonNil(r.Purchases)}, {Name: "crm_tickets", Rows: nonNil(r.Tickets)},
		{Name: "crm_company", Rows: companies}, {Name: "crm_contracts", Rows: nonNil(r.Contracts)},
	}, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// EraseSubject deletes the subject's purchases and tickets and their profile's link to a
// company account. The company account and its contracts are the company's, not the person's,
// and stay.
func (s *Service) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	if len(e.ProfileIDs) == 0 {
		return nil
	}
	in, args := db.InList(e.ProfileIDs, 1)
	for _, q := range []string{
		`DELETE FROM crm_purchases WHERE profile_id ` + in,
		`DELETE FROM crm_tickets WHERE profile_id ` + in,
		`DELETE FROM profile_accounts WHERE profile_id ` + in,
	} {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("erasing CRM records: %w", err)
		}
	}
	return nil
}
