package segment

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
)

// PreviewSample is how many members a preview returns.
const PreviewSample = 10

// Preview is what a draft definition would hold now: its member count and the first members by
// profile id.
type Preview struct {
	Count  int64    `json:"count"`
	Sample []string `json:"sample"` // root profile ids, at most PreviewSample
}

// Preview compiles a draft definition and runs it once, without storing anything: the count and
// the sample come from one statement (a window count over the compiled SELECT, limited to the
// sample), so a segment of millions returns ten rows. segmentID, when not empty, is the segment
// being edited: a draft that refers back to it is refused as Update would refuse it. Errors are
// Parse's and Expand's, naming the JSON path.
func (s *Service) Preview(ctx context.Context, p accounts.Principal, segmentID string, definition json.RawMessage) (Preview, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return Preview{}, err
	}
	def, err := Parse(definition)
	if err != nil {
		return Preview{}, err
	}
	now := s.now()
	var out Preview
	err = s.snapshot(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.preview(ctx, tx, segmentID, def, now)
		return err
	})
	return out, err
}

// preview is Preview in tx.
func (s *Service) preview(ctx context.Context, tx *sql.Tx, segmentID string, def Node, now time.Time) (Preview, error) {
	out := Preview{Sample: []string{}}
	if err := checkRefs(ctx, tx, def); err != nil {
		return Preview{}, err
	}
	var err error
	var stack []string
	all := map[string]Node{}
	if len(def.Refs()) > 0 {
		if all, err = s.definitions(ctx, tx); err != nil {
			return Preview{}, err
		}
	}
	if segmentID != "" {
		all[segmentID] = def
		stack = []string{segmentID}
	}
	x, err := expand(def, lookupIn(all), stack, "definition")
	if err != nil {
		return Preview{}, err
	}
	q, err := Compile(s.db.Engine, x, now)
	if err != nil {
		return Preview{}, err
	}
	order := "id"
	if s.db.Engine == db.Postgres {
		order = `id COLLATE "C"`
		// As Members: no JIT. And a draft is typed by hand, so it may not hold the server long.
		if _, err := tx.ExecContext(ctx, `SET LOCAL jit = off; SET LOCAL statement_timeout = '60s'`); err != nil {
			return Preview{}, err
		}
	}
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT id, COUNT(*) OVER () FROM (%s) seg ORDER BY %s LIMIT %d`,
		q.SQL, order, PreviewSample), q.Args...)
	if err != nil {
		return Preview{}, fmt.Errorf("previewing a segment: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id, &out.Count); err != nil {
			return Preview{}, err
		}
		out.Sample = append(out.Sample, id)
	}
	return out, rows.Err()
}
