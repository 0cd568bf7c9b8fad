package score

import (
	"embed"
	"io/fs"

	"github.com/kizuna-community/kizuna/internal/db"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the score tables. They read the identity and profile tables; the segment
// language reads score_models and score_values.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "score", FS: sub}
}
