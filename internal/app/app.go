// Package app is the composition root: it turns a Config into open databases, the stream, the
// domain parts and the HTTP surfaces, and runs them under one lifecycle. Nothing else wires parts.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kizuna-community/kizuna/internal/accountmail"
	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/accounts/social"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/badges"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/config"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dm"
	"github.com/kizuna-community/kizuna/internal/dsr"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/imports"
	"github.com/kizuna-community/kizuna/internal/ingest"
	"github.com/kizuna-community/kizuna/internal/kb"
	"github.com/kizuna-community/kizuna/internal/mail"
	"github.com/kizuna-community/kizuna/internal/markdown"
	"github.com/kizuna-community/kizuna/internal/media"
	"github.com/kizuna-community/kizuna/internal/media/s3store"
	"github.com/kizuna-community/kizuna/internal/meetup"
	"github.com/kizuna-community/kizuna/internal/notify"
	"github.com/kizuna-community/kizuna/internal/onboarding"
	"github.com/kizuna-community/kizuna/internal/privacy"
	"github.com/kizuna-community/kizuna/internal/profile"
	"github.com/kizuna-community/kizuna/internal/score"
	"github.com/kizuna-community/kizuna/internal/search"
	"github.com/kizuna-community/kizuna/internal/segment"
	"github.com/kizuna-community/kizuna/internal/stream"
	"github.com/kizuna-community/kizuna/internal/survey"
)

// App holds the open resources and parts of one Kizuna process.
type App struct {
	Config    *config.Config
	Log       *slog.Logger
	DB        *db.DB // the main database
	LogDB     *db.DB // the event log database: a second SQLite file, or DB on PostgreSQL
	SeenDB    *db.DB // the tracking API's dedupe: a third SQLite file, or DB on PostgreSQL
	Stream    *stream.Stream
	Backbone  *backbone.Backbone
	Accounts  *accounts.Service
	Notify    *notify.Service
	Search    *search.Index
	Community *community.Service
	DM        *dm.Service
	Meetup    *meetup.Service
	KB        *kb.Service
	Badges    *badges.Service
	Survey    *survey.Service
	Media     *media.Service
	Ingest    *ingest.Ingest
	Identity  *identity.Graph
	CRM       *crm.Service
	Profiles  *profile.Service
	Consent   *consent.Ledger
	Segments  *segment.Service
	Scores    *score.Service
	// Onboarding is the survey new members answer after sign-up; its answers become traits and
	// rank the home feed.
	Onboarding *onboarding.Service
	Imports    *imports.Importer
	Privacy    *privacy.Service
	Mail       mail.Sender // SMTP when configured, else the log
	Metrics    *prometheus.Registry
}

// Options choose what Open starts.
type Options struct {
	// Stream starts the embedded NATS server or connects to the external one. The CLI's commands
	// leave it off, so they work while a server holds the embedded stream's files: the events they
	// commit wait in the outbox until the server's relay picks them up.
	Stream bool
	// HashParams overrides the password hashing cost (tests only).
	HashParams *accounts.HashParams
}

// Open opens the databases, applies migrations and builds the parts.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger, opts Options) (a *App, err error) {
	a = &App{Config: cfg, Log: log, Metrics: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if err := a.openDatabases(ctx); err != nil {
		return nil, err
	}
	if opts.Stream {
		a.Stream, err = stream.Open(ctx, stream.Options{DataDir: cfg.DataDir, URL: cfg.NATSURL, Listen: cfg.NATSListen, Log: log})
		if err != nil {
			return nil, err
		}
	}
	a.Metrics.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(),
	)
	a.Backbone = backbone.New(backbone.Deps{DB: a.DB, LogDB: a.LogDB, Stream: a.Stream, Log: log, Metrics: a.Metrics})
	a.Mail = mail.Sender(mail.NewLog(log))
	if cfg.SMTP.Host != "" {
		a.Mail, err = mail.NewSMTP(mail.SMTPConfig{
			Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Username: cfg.SMTP.Username,
			Password: cfg.SMTP.Password, From: cfg.SMTP.From, TLS: cfg.SMTP.TLS,
		}, log)
		if err != nil {
			return nil, fmt.Errorf("configuring smtp: %w", err)
		}
	}
	// The consent ledger keeps the choices made on the social permission screen. It is built after
	// accounts, whose audit log it writes to, so accounts reaches it through consents.
	consents := &laterRecorder{}
	a.Accounts = accounts.New(accounts.Deps{
		DB: a.DB, Outbox: a.Backbone.Outbox(), Log: log, HashParams: opts.HashParams,
		Notifier:  &accountmail.Mailer{Sender: a.Mail, BaseURL: cfg.BaseURL},
		Providers: loginProviders(cfg.Login), Consents: consents,
	})
	if err := a.Accounts.CheckProviderIssuers(ctx); err != nil {
		return nil, fmt.Errorf("checking KIZUNA_OIDC_ISSUER: restore the issuer members linked with, or add the new one as another provider in the admin: %w", err)
	}
	a.Notify = notify.New(notify.Deps{DB: a.DB})
	a.Search = search.New(a.DB)
	md := markdown.New()
	a.Community = community.New(community.Deps{
		DB: a.DB, Outbox: a.Backbone.Outbox(), Accounts: a.Accounts, Notify: a.Notify, Search: a.Search, Markdown: md, Log: log,
		Events: a.Backbone,
	})
	a.Backbone.Register(a.Community.FeedConsumer()) // what members read ranks their home feed
	a.DM = dm.New(dm.Deps{DB: a.DB, Outbox: a.Backbone.Outbox(), Accounts: a.Accounts, Notify: a.Notify})
	a.Meetup = meetup.New(meetup.Deps{DB: a.DB, Outbox: a.Backbone.Outbox(), Accounts: a.Accounts, Community: a.Community,
		Notify: a.Notify, Search: a.Search, Markdown: md, Log: log})
	a.KB = kb.New(kb.Deps{DB: a.DB, Outbox: a.Backbone.Outbox(), Accounts: a.Accounts, Community: a.Community, Search: a.Search, Markdown: md})
	a.Badges = badges.New(badges.Deps{DB: a.DB, Outbox: a.Backbone.Outbox(), Accounts: a.Accounts})
	a.Backbone.Register(a.Badges.Consumer())
	a.Survey = survey.New(survey.Deps{DB: a.DB, Outbox: a.Backbone.Outbox(), Accounts: a.Accounts, Community: a.Community})
	store, err := mediaStore(cfg)
	if err != nil {
		return nil, err
	}
	a.Media = media.New(media.Deps{DB: a.DB, Outbox: a.Backbone.Outbox(), Store: store})
	a.Ingest = ingest.New(ingest.Deps{DB: a.DB, SeenDB: a.SeenDB, Appender: a.Backbone, Log: log, Forgotten: forgotten{a}})
	a.Identity = identity.New(identity.Deps{DB: a.DB, Outbox: a.Backbone.Outbox(), Log: log})
	a.CRM = crm.New(crm.Deps{DB: a.DB, Outbox: a.Backbone.Outbox(), Identity: a.Identity})
	a.Profiles = profile.New(profile.Deps{DB: a.DB, Outbox: a.Backbone.Outbox(), Identity: a.Identity, CRM: a.CRM, Log: log})
	a.Backbone.Register(a.Profiles.Consumer())
	a.Consent = consent.New(consent.Deps{DB: a.DB, Outbox: a.Backbone.Outbox(), Identity: a.Identity, Accounts: a.Accounts})
	consents.to = a.Consent
	a.Segments = segment.New(segment.Deps{DB: a.DB, Outbox: a.Backbone.Outbox(), Identity: a.Identity, Accounts: a.Accounts, Log: log})
	a.Backbone.Register(a.Segments.Consumer())
	a.Scores = score.New(score.Deps{DB: a.DB, Outbox: a.Backbone.Outbox(), Identity: a.Identity, Segments: a.Segments, Log: log})
	a.Backbone.Register(a.Scores.Consumer())
	a.Onboarding = onboarding.New(onboarding.Deps{DB: a.DB, Outbox: a.Backbone.Outbox(), Segments: a.Segments})
	a.Imports = imports.New(imports.Deps{DB: a.DB, Outbox: a.Backbone.Outbox(), Identity: a.Identity, CRM: a.CRM, Consent: a.Consent, Log: log})
	a.Privacy = privacy.New(privacy.Deps{DB: a.DB, Backbone: a.Backbone, Accounts: a.Accounts, Identity: a.Identity, Consent: a.Consent,
		Parts: a.personalData(), Log: log})
	a.Backbone.Register(a.Privacy.Consumer())
	// An import whose process died stays "running" until some process opens the database: a
	// live import touches its record every few seconds, so a minute without is a dead one.
	if n, err := a.Imports.MarkInterrupted(ctx, time.Now().Add(-time.Minute)); err != nil {
		return nil, err
	} else if n > 0 {
		log.Warn("imports interrupted by a stopped process; run their files again to finish", "count", n)
	}
	return a, nil
}

// loginProviders are the social log-in providers the settings configure.
func loginProviders(l config.Login) []accounts.ProviderConfig {
	var out []accounts.ProviderConfig
	for _, p := range []struct {
		kind social.Kind
		c    config.Credentials
	}{{social.KindLINE, l.LINE}, {social.KindGoogle, l.Google}, {social.KindFacebook, l.Facebook}, {social.KindX, l.X}} {
		if p.c.Set() {
			out = append(out, accounts.ProviderConfig{Key: string(p.kind), AllowSignUp: true,
				Config: social.Config{Kind: p.kind, ClientID: p.c.ID, ClientSecret: p.c.Secret}})
		}
	}
	if l.OIDC.Set() && l.OIDC.Issuer != "" {
		out = append(out, accounts.ProviderConfig{Key: "sso", Name: l.OIDC.Name, AllowSignUp: l.OIDC.SignUp,
			Config: social.Config{Kind: social.KindOIDC, ClientID: l.OIDC.ID, ClientSecret: l.OIDC.Secret, Issuer: l.OIDC.Issuer}})
	}
	return out
}

// personalData lists every part that keeps personal data, in the order an erasure runs them (and
// an export lists their tables): the community's parts first, then the customer data hub, the
// identity graph, the outbox, and the accounts last, once every other part has repointed its
// rows to the tombstone account.
func (a *App) personalData() []dsr.Part {
	return []dsr.Part{a.Community, a.DM, a.Meetup, a.Survey, a.Onboarding, a.Badges, a.Media, a.KB, a.Notify, a.Search, a.Ingest.Sources(),
		a.Imports, a.CRM, a.Profiles, a.Scores, a.Segments, a.Consent, a.Identity, a.Backbone, a.Accounts}
}

// forgotten lets the tracking API, built before the privacy part, ask it about erased people.
type forgotten struct{ a *App }

func (f forgotten) Forgotten(ctx context.Context, ids []dsr.Identifier) (map[dsr.Identifier]bool, error) {
	return f.a.Privacy.Forgotten(ctx, ids)
}

// migrations lists every part's migrations in the order they apply.
func migrations() []db.Migrations {
	return []db.Migrations{backbone.Migrations(), accounts.Migrations(), notify.Migrations(), search.Migrations(), community.Migrations(), dm.Migrations(), meetup.Migrations(),
		kb.Migrations(), badges.Migrations(), survey.Migrations(), media.Migrations(), ingest.Migrations(), identity.Migrations(),
		crm.Migrations(), profile.Migrations(), consent.Migrations(), imports.Migrations(), segment.Migrations(),
		score.Migrations(), onboarding.Migrations(), privacy.Migrations()}
}

func (a *App) openDatabases(ctx context.Context) error {
	var err error
	if a.Config.UsesPostgres() {
		a.DB, err = db.OpenPostgres(ctx, a.Config.DatabaseURL)
		a.LogDB, a.SeenDB = a.DB, a.DB
	} else {
		a.DB, err = db.OpenSQLite(ctx, filepath.Join(a.Config.DataDir, "kizuna.db"))
		if err == nil {
			// The append-heavy event log lives in its own file, so its writes never wait for the
			// main database's write lock and vice versa.
			a.LogDB, err = db.OpenSQLiteLog(ctx, filepath.Join(a.Config.DataDir, "events.db"))
		}
		if err == nil {
			// So does the tracking API's dedupe: acknowledging a call never waits for the main
			// database's writer, which the consumers keep busy.
			a.SeenDB, err = db.OpenSQLite(ctx, filepath.Join(a.Config.DataDir, "seen.db"))
		}
	}
	if err != nil {
		return err
	}
	return a.Migrate(ctx)
}

// mediaStore is where uploaded images go: the configured S3-compatible bucket, or DATA/media.
func mediaStore(cfg *config.Config) (media.Store, error) {
	if cfg.S3.Bucket == "" {
		return media.DirStore{Root: filepath.Join(cfg.DataDir, "media")}, nil
	}
	st, err := s3store.New(s3store.Config{Endpoint: cfg.S3.Endpoint, Region: cfg.S3.Region, Bucket: cfg.S3.Bucket,
		AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey, PathStyle: cfg.S3.PathStyle})
	if err != nil {
		return nil, fmt.Errorf("configuring the media bucket: %w", err)
	}
	return st, nil
}

// Migrate applies every part's pending migrations.
func (a *App) Migrate(ctx context.Context) error {
	start := time.Now()
	n, err := a.DB.Migrate(ctx, migrations()...)
	if err != nil {
		return err
	}
	m, err := a.LogDB.Migrate(ctx, backbone.LogMigrations())
	if err != nil {
		return err
	}
	k, err := a.SeenDB.Migrate(ctx, ingest.SeenMigrations())
	if err != nil {
		return err
	}
	if n+m+k > 0 {
		a.Log.Info("applied migrations", "count", n+m+k, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// Ready checks the database and, when this process uses it, the stream.
func (a *App) Ready(ctx context.Context) map[string]error {
	res := map[string]error{"database": a.DB.Ping(ctx)}
	if a.LogDB != a.DB {
		res["event_log"] = a.LogDB.Ping(ctx)
	}
	if a.SeenDB != a.DB {
		res["tracking_dedupe"] = a.SeenDB.Ping(ctx)
	}
	if a.Stream != nil {
		res["stream"] = a.Stream.Ping(ctx)
	}
	return res
}

// Close releases everything Open opened.
func (a *App) Close() error {
	var errs []error
	if a.Stream != nil {
		a.Stream.Close()
	}
	for _, d := range []*db.DB{a.LogDB, a.SeenDB} {
		if d != nil && d != a.DB {
			errs = append(errs, d.Close())
		}
	}
	if a.DB != nil {
		errs = append(errs, a.DB.Close())
	}
	return errors.Join(errs...)
}

// laterRecorder is an accounts.ConsentRecorder whose recorder is set after accounts is built.
type laterRecorder struct{ to accounts.ConsentRecorder }

func (r *laterRecorder) RecordConsents(ctx context.Context, memberID string, choices []accounts.ConsentChoice, ev accounts.ConsentEvidence) error {
	return r.to.RecordConsents(ctx, memberID, choices, ev)
}
