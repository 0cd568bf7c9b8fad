package imports

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
)

var _ dsr.Part = (*Importer)(nil)

// ExportSubject exports nothing: what an import said about the person is in the parts it went
// to (traits, consents, CRM records).
func (im *Importer) ExportSubject(context.Context, dsr.Subject) ([]dsr.Table, error) { return nil, nil }

// EraseSubject forgets what contact imports last said about the subject's profiles, takes their
// email addresses and phone numbers out of the error reports of imports (which quote the values of bad rows),
// and names the tombstone as the creator of imports they ran as staff.
func (im *Importer) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	if len(e.ProfileIDs) > 0 {
		in, args := db.InList(e.ProfileIDs, 1)
		if _, err := tx.ExecContext(ctx, `DELETE FROM import_contacts WHERE profile_id `+in, args...); err != nil {
			return fmt.Errorf("erasing import digests: %w", err)
		}
	}
	for _, m := range e.MemberIDs {
		if _, err := tx.ExecContext(ctx, `UPDATE imports SET created_by = $2 WHERE created_by = $1`, m, e.Tombstone); err != nil {
			return fmt.Errorf("erasing import creators: %w", err)
		}
	}
	for _, v := range e.Values("email", "phone") {
		for _, col := range []string{"errors", "message"} {
			if err := db.Replace(ctx, tx, "imports", col, v, ""); err != nil {
				return err
			}
		}
	}
	return nil
}
