package kb

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
)

// Category groups articles, in the order staff gave them.
type Category struct {
	ID       string `json:"id"`
	Slug     string `json:"slug"`
	Name     string `json:"name"`
	Position int    `json:"position"`
	Articles int    `json:"articles"` // the articles the reader may see in it
}

const maxCategoryName = 80

// CreateCategory adds a category after the existing ones. Needs PermManageCommunity.
func (s *Service) CreateCategory(ctx context.Context, p accounts.Principal, name, slug string) (Category, error) {
	if err := accounts.Authorize(p, accounts.PermManageCommunity); err != nil {
		return Category{}, err
	}
	name, slug = strings.TrimSpace(name), strings.ToLower(strings.TrimSpace(slug))
	switch {
	case name == "":
		return Category{}, errs.Because(errs.Invalid("name", "name is required"), "name_required")
	case utf8.RuneCountInString(name) > maxCategoryName:
		return Category{}, errs.Because(errs.Invalid("name", "name must be at most %d characters", maxCategoryName), "name_long", maxCategoryName)
	case !slugRe.MatchString(slug):
		return Category{}, errs.Because(errs.Invalid("slug", "slug must be 2-63 lower-case letters, digits or hyphens"), "slug_invalid")
	}
	now := s.now()
	c := Category{ID: id.New(now), Slug: slug, Name: name}
	err := s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM kb_categories WHERE slug = $1`, slug).Scan(&taken); err != nil {
			return err
		}
		if taken > 0 {
			return errs.Because(errs.Conflict("slug", "a category with slug %q exists", slug), "category_slug_taken")
		}
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(position), -1) + 1 FROM kb_categories`).Scan(&c.Position); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO kb_categories (id, slug, name, position, created_at) VALUES ($1, $2, $3, $4, $5)`,
			c.ID, c.Slug, c.Name, c.Position, db.Now(now)); err != nil {
			return err
		}
		if err := s.acc.Audit(ctx, tx, p, "kb.category_created", c.ID, map[string]any{"slug": slug, "name": name}); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community("Article Category Created", p.Actor(), now, map[string]any{"category_id": c.ID, "slug": slug}))
	})
	if err != nil {
		return Category{}, err
	}
	return c, nil
}

// Categories lists every category in order, with how many articles p may read in each: published
// ones, and drafts too for staff who write the knowledge base.
func (s *Service) Categories(ctx context.Context, p accounts.Principal) ([]Category, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT c.id, c.slug, c.name, c.position,
		(SELECT count(*) FROM kb_articles a WHERE a.category_id = c.id AND a.published >= $1)
		FROM kb_categories c ORDER BY c.position, c.id`, 1-db.Bool(staff(p)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Category{}
	for rows.Next() {
		var c Category
		if err := rows.Scan(&c.ID, &c.Slug, &c.Name, &c.Position, &c.Articles); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// category returns the category with this id or slug.
func (s *Service) category(ctx context.Context, q db.Queryer, ref string) (Category, error) {
	var c Category
	err := q.QueryRowContext(ctx, `SELECT id, slug, name, position FROM kb_categories WHERE id = $1 OR slug = $2`, ref, strings.ToLower(ref)).
		Scan(&c.ID, &c.Slug, &c.Name, &c.Position)
	if errors.Is(err, sql.ErrNoRows) {
		return c, errs.NotFound("no category %s", ref)
	}
	return c, err
}
