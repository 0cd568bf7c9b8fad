package segment

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
)

// ExportTraits are the traits a member export carries besides the profile id and entry time.
var ExportTraits = []string{"email", "name", "company", "plan"}

// MemberRow is a member with the current values of some of its traits (the latest across its
// merge family), as the member list and the export show it.
type MemberRow struct {
	Member
	Traits map[string]any
}

// Membership is a segment a profile is in.
type Membership struct {
	SegmentID string    `json:"segment_id"`
	Name      string    `json:"name"`
	EnteredAt time.Time `json:"entered_at"`
}

// WithTraits adds the current values of the traits names to members.
func (s *Service) WithTraits(ctx context.Context, p accounts.Principal, members []Member, names []string) ([]MemberRow, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return nil, err
	}
	out := make([]MemberRow, len(members))
	ids := make([]string, len(members))
	for i, m := range members {
		out[i] = MemberRow{Member: m, Traits: map[string]any{}}
		ids[i] = m.ID
	}
	traits, err := s.traitsOf(ctx, ids, names)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if t, ok := traits[out[i].ID]; ok {
			out[i].Traits = t
		}
	}
	return out, nil
}

// traitsOf reads the traits names of the root profiles roots across their merge families: the
// value updated last wins.
func (s *Service) traitsOf(ctx context.Context, roots, names []string) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	if len(roots) == 0 || len(names) == 0 {
		return out, nil
	}
	rootIn, args := db.InList(roots, 1)
	nameIn, nargs := db.InList(names, len(args)+1)
	rows, err := s.db.R.QueryContext(ctx, `WITH RECURSIVE family (id, root) AS (
			SELECT id, id FROM identity_profiles WHERE id `+rootIn+`
			UNION SELECT p.id, f.root FROM identity_profiles p JOIN family f ON p.merged_into = f.id
		) SELECT f.root, t.name, t.value, t.updated_at FROM family f JOIN profile_traits t ON t.profile_id = f.id
		WHERE t.name `+nameIn, append(args, nargs...)...)
	if err != nil {
		return nil, fmt.Errorf("reading member traits: %w", err)
	}
	defer rows.Close()
	latest := map[[2]string]int64{}
	for rows.Next() {
		var root, name, value string
		var at int64
		if err := rows.Scan(&root, &name, &value, &at); err != nil {
			return nil, err
		}
		k := [2]string{root, name}
		if prev, ok := latest[k]; ok && at <= prev {
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			continue // not JSON: the profile consumer never stores such a value
		}
		latest[k] = at
		if out[root] == nil {
			out[root] = map[string]any{}
		}
		out[root][name] = v
	}
	return out, rows.Err()
}

// Export calls fn with every member of segmentID in profile id order, a page of 1,000 at a time,
// each with the traits names. The export is recorded in the audit log (segment.exported) before
// the first page is read. A list of people with their addresses taken out of Kizuna is the
// marketers' (permWrite), not every staff member's who may look at one.
func (s *Service) Export(ctx context.Context, p accounts.Principal, segmentID string, names []string, fn func([]MemberRow) error) error {
	if err := accounts.Authorize(p, permWrite); err != nil {
		return err
	}
	if err := s.exists(ctx, segmentID); err != nil {
		return err
	}
	if s.acc != nil {
		if err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			return s.acc.Audit(ctx, tx, p, "segment.exported", segmentID, map[string]any{"traits": names})
		}); err != nil {
			return fmt.Errorf("auditing the export of segment %s: %w", segmentID, err)
		}
	}
	after := ""
	for {
		page, next, err := s.Members(ctx, p, segmentID, after, 1000)
		if err != nil {
			return err
		}
		rows, err := s.WithTraits(ctx, p, page, names)
		if err != nil {
			return err
		}
		if err := fn(rows); err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// ForProfile returns the segments the root of profileID is in, by name.
func (s *Service) ForProfile(ctx context.Context, p accounts.Principal, profileID string) ([]Membership, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return nil, err
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT s.id, s.name, m.entered_at FROM segment_members m
		JOIN segments s ON s.id = m.segment_id WHERE m.profile_id = $1 ORDER BY s.name, s.id`, profileID)
	if err != nil {
		return nil, fmt.Errorf("reading the segments of %s: %w", profileID, err)
	}
	defer rows.Close()
	out := []Membership{}
	for rows.Next() {
		var m Membership
		var at int64
		if err := rows.Scan(&m.SegmentID, &m.Name, &at); err != nil {
			return nil, err
		}
		m.EnteredAt = db.Time(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// ExportCSV writes every member of segmentID as CSV — id, entered_at (RFC 3339, UTC) and the
// ExportTraits — to the writer open returns. open is called once, after the checks and the
// audit record and before the first row, so that an HTTP edge can still answer an error with
// its status up to then.
func (s *Service) ExportCSV(ctx context.Context, p accounts.Principal, segmentID string, open func() io.Writer) error {
	var cw *csv.Writer
	err := s.Export(ctx, p, segmentID, ExportTraits, func(rows []MemberRow) error {
		if cw == nil {
			cw = csv.NewWriter(open())
			if err := cw.Write(append([]string{"id", "entered_at"}, ExportTraits...)); err != nil {
				return err
			}
		}
		rec := make([]string, 2+len(ExportTraits))
		for _, r := range rows {
			rec[0], rec[1] = r.ID, r.EnteredAt.UTC().Format(time.RFC3339)
			for i, name := range ExportTraits {
				rec[2+i] = csvValue(r.Traits[name])
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
	return err
}

// csvValue is a trait value in a CSV cell: strings as they are, nothing as empty, anything else
// as JSON. A cell that a spreadsheet would read as a formula (=, +, -, @ first) is quoted with a
// leading apostrophe, so opening an export never runs what a customer typed.
func csvValue(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		s = x
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return ""
		}
		return string(b)
	}
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
