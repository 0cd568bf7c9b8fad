package segment

import (
	"embed"
	"io/fs"

	"github.com/kizuna-community/kizuna/internal/db"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the segment tables. They read the identity, profile, CRM and consent tables.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "segment", FS: sub}
}
