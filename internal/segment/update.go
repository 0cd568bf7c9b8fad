package segment

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// Update renames segmentID and replaces its definition, then recomputes its members at once:
// those the new definition no longer holds exit, the new ones enter (an event each). A
// definition that refers back to the segment itself, through others or directly, is an
// errs.Invalid error naming the path of the reference.
func (s *Service) Update(ctx context.Context, p accounts.Principal, segmentID, name string, definition json.RawMessage) (Segment, error) {
	if err := accounts.Authorize(p, permWrite); err != nil {
		return Segment{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 200 {
		return Segment{}, errs.Invalid("name", "give a name of at most 200 characters")
	}
	def, err := Parse(definition)
	if err != nil {
		return Segment{}, err
	}
	canon, err := json.Marshal(def)
	if err != nil {
		return Segment{}, err
	}
	now := s.now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := checkRefs(ctx, tx, def); err != nil {
			return err
		}
		if s.db.Engine == db.Postgres {
			// As Delete: wait for evaluations changing its membership, and hold the segments it
			// refers to so that none is deleted before this commits.
			if _, err := tx.ExecContext(ctx, `SELECT id FROM segments WHERE id = $1 FOR UPDATE`, segmentID); err != nil {
				return fmt.Errorf("locking segment %s: %w", segmentID, err)
			}
			if refs := def.Refs(); len(refs) > 0 {
				if _, err := tx.ExecContext(ctx, `SELECT id FROM segments WHERE id `+s.db.Engine.In(len(refs), 1)+` FOR SHARE`,
					s.db.Engine.InArgs(refs)...); err != nil {
					return fmt.Errorf("locking the segments referred to: %w", err)
				}
			}
		}
		all, err := s.definitions(ctx, tx)
		if err != nil {
			return err
		}
		if _, ok := all[segmentID]; !ok {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM segments WHERE id = $1`, segmentID).Scan(&one); err != nil {
				return errs.NotFound("no segment %s", segmentID)
			}
			// Its stored definition no longer parses: the new one repairs it.
		}
		all[segmentID] = def
		if _, err := expand(def, lookupIn(all), []string{segmentID}, "definition"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE segments SET name = $1, definition = $2 WHERE id = $3`,
			name, string(canon), segmentID); err != nil {
			return fmt.Errorf("updating segment %s: %w", segmentID, err)
		}
		return nil
	})
	if err != nil {
		return Segment{}, err
	}
	if _, _, err := s.recompute(ctx, segmentID, now, true); err != nil {
		s.log.Warn("segment: recomputation after an update failed", "segment", segmentID, "err", err)
	}
	return s.Get(ctx, accounts.System(), segmentID)
}
