package media

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
)

var _ dsr.Part = (*Service)(nil)

// ExportSubject returns what Kizuna knows about the images the subject uploaded (not the images
// themselves, which they can download at their URLs).
func (s *Service) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	if len(sub.MemberIDs) == 0 {
		return nil, nil
	}
	in, args := db.InList(sub.MemberIDs, 1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, storage_key, content_type, width, height, bytes, filename, uploader_id, created_at
		FROM media WHERE uploader_id `+in+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting uploads: %w", err)
	}
	defer rows.Close()
	out := []Image{}
	for rows.Next() {
		var img Image
		var key string
		var at int64
		if err := rows.Scan(&img.ID, &key, &img.ContentType, &img.Width, &img.Height, &img.Bytes, &img.Filename, &img.UploaderID, &at); err != nil {
			return nil, err
		}
		img.URL, img.CreatedAt = "/media/"+key, db.Time(at)
		out = append(out, img)
	}
	return []dsr.Table{{Name: "uploads", Rows: out}}, rows.Err()
}

// EraseSubject deletes the images the subject uploaded, the bytes from the store and the rows.
// A post kept anonymised that showed one shows a missing image instead: a photo can show the
// person, and its file can carry where and when it was taken. The bytes go first: if the
// transaction then fails, the erasure runs again and finds the rows still there.
func (s *Service) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	if len(e.MemberIDs) == 0 {
		return nil
	}
	in, args := db.InList(e.MemberIDs, 1)
	rows, err := tx.QueryContext(ctx, `SELECT storage_key FROM media WHERE uploader_id `+in, args...)
	if err != nil {
		return fmt.Errorf("erasing uploads: %w", err)
	}
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return err
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.store.Delete(ctx, k); err != nil {
			return fmt.Errorf("erasing upload %s: %w", k, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM media WHERE uploader_id `+in, args...); err != nil {
		return fmt.Errorf("erasing uploads: %w", err)
	}
	return nil
}
