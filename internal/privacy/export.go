package privacy

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
	"github.com/kizuna-community/kizuna/internal/id"
)

// Export builds a copy of everything Kizuna keeps about the subject ref names, for p: the member
// themselves (from the privacy centre), or staff and API keys with accounts.PermManageMembers.
// It records the request, completed, and the audit entry, and returns the zip: every table as
// JSON and as CSV (UTF-8 with a byte order mark, which spreadsheet programs need to read
// Japanese), a manifest and a README in Japanese and English.
func (s *Service) Export(ctx context.Context, p accounts.Principal, ref Ref, in RequestInput) (Request, []byte, error) {
	ch, err := authorize(p, ref)
	if err != nil {
		return Request{}, nil, err
	}
	if ch == ChannelCentre {
		in = RequestInput{}
	}
	set, err := s.Settings(ctx)
	if err != nil {
		return Request{}, nil, err
	}
	now := s.now()
	regime, received, due, note, err := in.check(now, set.DefaultRegime)
	if err != nil {
		return Request{}, nil, err
	}
	sub, err := s.resolve(ctx, s.db.R, ref)
	if err != nil {
		return Request{}, nil, err
	}
	done := db.Time(db.Now(now))
	r := Request{ID: id.New(now), Kind: KindExport, Status: StatusCompleted, Regime: regime, Channel: ch, ReceivedAt: received, DueAt: due,
		CompletedAt: &done, RequestedBy: p.Actor(), Note: note, CreatedAt: done, UpdatedAt: done, ProfileID: sub.Root}
	if len(sub.MemberIDs) > 0 {
		r.MemberID = sub.MemberIDs[0]
	}
	var tables []dsr.Table
	for _, part := range append(slices.Clone(s.parts), dsr.Part(s)) {
		ts, err := part.ExportSubject(ctx, sub)
		if err != nil {
			return Request{}, nil, err
		}
		tables = append(tables, ts...)
	}
	zipped, err := buildZip(r, sub, tables, now)
	if err != nil {
		return Request{}, nil, err
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.insertRequest(ctx, tx, r); err != nil {
			return err
		}
		return s.acc.Audit(ctx, tx, p, "privacy.exported", r.ID, map[string]any{
			"member_id": r.MemberID, "profile_id": r.ProfileID, "regime": r.Regime, "channel": r.Channel, "bytes": len(zipped)})
	})
	if err != nil {
		return Request{}, nil, err
	}
	return r, zipped, nil
}

// ExportFileName is the name an export is downloaded as.
func ExportFileName(r Request) string {
	return "kizuna-data-" + r.CreatedAt.UTC().Format("20060102-150405") + ".zip"
}

// manifest describes an export.
type manifest struct {
	RequestID   string          `json:"request_id"`
	GeneratedAt time.Time       `json:"generated_at"`
	MemberIDs   []string        `json:"member_ids"`
	ProfileIDs  []string        `json:"profile_ids"`
	Tables      []manifestTable `json:"tables"`
}

type manifestTable struct {
	Name string `json:"name"`
	Rows int    `json:"rows"`
	JSON string `json:"json"`
	CSV  string `json:"csv"`
}

const readme = `このファイルには、Kizuna コミュニティがあなたについて保存しているすべてのデータが含まれています。
各データは json/ フォルダに JSON 形式で、csv/ フォルダに CSV 形式（UTF-8、BOM 付き。Excel で文字化けせずに開けます）で入っています。
manifest.json に、含まれているデータの一覧と件数があります。

- account / sessions / audit_log: アカウント、ログインの記録、あなたに関する操作記録
- community_profile / posts / replies / edits / reactions / idea_votes / space_memberships / reports_filed: コミュニティでの活動
- direct_messages: 送受信したダイレクトメッセージ
- event_rsvps / survey_answers / surveys_responded / badges / uploads / notifications: イベント参加、アンケート回答、バッジ、アップロードした画像の情報、通知
- identifiers / profile_merges / traits / trait_history / events / event_counts: 顧客プロフィール（識別子、属性とその履歴、行動履歴）
- consents / suppressions / third_party_provisions: 連絡の同意とその証跡、配信停止リスト、第三者提供の記録
- crm_purchases / crm_tickets / crm_company / crm_contracts: 購入、サポート問い合わせなど CRM の記録
- privacy_requests: あなたのデータに関するリクエスト

This archive holds all the data the Kizuna community keeps about you. Each table is in json/ as
JSON and in csv/ as CSV (UTF-8 with a byte order mark, so spreadsheet programs read it
correctly). manifest.json lists the tables and how many rows each has.
`

// buildZip writes the export archive.
func buildZip(r Request, sub dsr.Subject, tables []dsr.Table, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	m := manifest{RequestID: r.ID, GeneratedAt: now.UTC(), MemberIDs: sub.MemberIDs, ProfileIDs: sub.ProfileIDs}
	if m.MemberIDs == nil {
		m.MemberIDs = []string{}
	}
	if m.ProfileIDs == nil {
		m.ProfileIDs = []string{}
	}
	add := func(name string, data []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: now})
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	for _, t := range tables {
		js, err := json.MarshalIndent(t.Rows, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", t.Name, err)
		}
		header, rows, err := flatten(js)
		if err != nil {
			return nil, fmt.Errorf("flattening %s: %w", t.Name, err)
		}
		var c bytes.Buffer
		c.WriteString("\ufeff")
		cw := csv.NewWriter(&c)
		cw.UseCRLF = true
		if len(header) > 0 {
			cw.Write(header)
		}
		cw.WriteAll(rows)
		if err := cw.Error(); err != nil {
			return nil, err
		}
		mt := manifestTable{Name: t.Name, Rows: len(rows), JSON: "json/" + t.Name + ".json", CSV: "csv/" + t.Name + ".csv"}
		if err := add(mt.JSON, append(js, '\n')); err != nil {
			return nil, err
		}
		if err := add(mt.CSV, c.Bytes()); err != nil {
			return nil, err
		}
		m.Tables = append(m.Tables, mt)
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := add("manifest.json", append(mj, '\n')); err != nil {
		return nil, err
	}
	if err := add("README.txt", []byte(strings.ReplaceAll(readme, "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// flatten turns a JSON array of objects into CSV rows: the columns are the objects' keys in the
// order they first appear; nested objects and arrays are written as JSON, null as empty.
func flatten(js []byte) ([]string, [][]string, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return nil, nil, fmt.Errorf("not a list")
	}
	var header []string
	col := map[string]int{}
	var rows []map[string]string
	for dec.More() {
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return nil, nil, fmt.Errorf("not a list of objects")
		}
		row := map[string]string{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, nil, err
			}
			k := kt.(string)
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, nil, err
			}
			if _, ok := col[k]; !ok {
				col[k] = len(header)
				header = append(header, k)
			}
			row[k] = cell(raw)
		}
		if _, err := dec.Token(); err != nil {
			return nil, nil, err
		}
		rows = append(rows, row)
	}
	out := make([][]string, len(rows))
	for i, row := range rows {
		out[i] = make([]string, len(header))
		for k, v := range row {
			out[i][col[k]] = v
		}
	}
	return header, out, nil
}

// cell is one JSON value as CSV text.
func cell(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return ""
	case raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case raw[0] == '{' || raw[0] == '[':
		var b bytes.Buffer
		if json.Compact(&b, raw) == nil {
			return b.String()
		}
	}
	return string(raw)
}

// ExportSubject is the privacy part's own table of an export: the requests about the subject.
func (s *Service) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	var out []Request
	seen := map[string]bool{}
	var filters []Filter
	for _, m := range sub.MemberIDs { // every account of the person, not only the first
		filters = append(filters, Filter{MemberID: m})
	}
	filters = append(filters, Filter{ProfileID: sub.Root})
	for _, f := range filters {
		if f.MemberID == "" && f.ProfileID == "" {
			continue
		}
		list, _, err := s.requests(ctx, f, "", 500)
		if err != nil {
			return nil, err
		}
		for _, r := range list {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
	}
	if out == nil {
		out = []Request{}
	}
	return []dsr.Table{{Name: "privacy_requests", Rows: out}}, nil
}

// EraseSubject does nothing: CompleteErasure blanks the subject out of the requests itself, after
// every part ran.
func (s *Service) EraseSubject(context.Context, *sql.Tx, dsr.Erasure) error { return nil }

var _ dsr.Part = (*Service)(nil)
