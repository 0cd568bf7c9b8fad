// Package backbone is the event backbone: the transactional outbox, the relay that moves committed
// events to the JetStream stream, the append-only event log, and the durable consumers that later
// parts register to receive events (at least once; idempotent on the event id).
package backbone

import (
	"embed"
	"io/fs"

	"github.com/kizuna-community/kizuna/internal/db"
)

//go:embed migrations
var migrationsFS embed.FS

//go:embed logmigrations
var logMigrationsFS embed.FS

// Migrations are the outbox, consumer and lease tables, in the main database.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "backbone", FS: sub}
}

// LogMigrations are the event log tables, in the event log database (a second SQLite file, or the
// main PostgreSQL database).
func LogMigrations() db.Migrations {
	sub, _ := fs.Sub(logMigrationsFS, "logmigrations")
	return db.Migrations{Part: "eventlog", FS: sub}
}
