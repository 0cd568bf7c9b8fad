package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/config"
	"github.com/kizuna-community/kizuna/internal/demo"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// CLI runs one kizuna command. It holds the process's outside world, so tests run commands in
// process with their own arguments, environment and output.
type CLI struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// HashParams overrides password hashing cost (tests only).
	HashParams *accounts.HashParams
	// Ready, if set, is told the HTTP address once `serve` listens (tests use it with port 0).
	Ready func(addr string)
}

const usage = `Kizuna — community platform with a customer data hub.

Usage:
  kizuna [serve] [flags]                      run the server (the default command)
  kizuna migrate [flags]                      apply database migrations and exit
  kizuna admin create --email E --password P  create (or promote) an administrator
  kizuna apikey create --name N --scopes S    create an API key; the key is the last line printed
  kizuna source create --name N               create a tracking source; its write key is the last line printed
  kizuna demo [flags]                         fill a bilingual demo community
  kizuna import --kind K --file F             import contacts, accounts, purchases, contracts or tickets (CSV/JSONL)
  kizuna bench seed [--posts N --comments N]  fill a large community for load tests (prints what to request)
  kizuna bench ingest --write-key K [--url U] load a running server's tracking API (loopback only);
                                              --rate N sends N events/s open-loop for --duration
  kizuna bench profiles --write-key K --api-key A  time events to their profiles on a running server:
                                              events processed per second, and event-to-profile
                                              latency under a steady --rate (loopback only)
  kizuna bench segments [--profiles N --events M]  time full and incremental segment evaluation over a
                                              data set it builds (or reuses) in the configured database
  kizuna bench entered --write-key K --api-key A  time an event to its Segment Entered on a running
                                              server under a steady --rate (loopback only)
  kizuna version                              print the version

Every command takes the settings flags below (or their KIZUNA_* variables), e.g. --data DIR or
KIZUNA_DATABASE_URL=postgres://…; run "kizuna serve -h" to list them.
`

// Run runs the command in args (without the program name) and returns the exit code.
func (c *CLI) Run(ctx context.Context, args []string) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = c.serve(ctx, args)
	case "migrate":
		err = c.migrate(ctx, args)
	case "admin":
		err = c.sub(ctx, "admin", args, map[string]func(context.Context, []string) error{"create": c.adminCreate})
	case "apikey":
		err = c.sub(ctx, "apikey", args, map[string]func(context.Context, []string) error{"create": c.apikeyCreate})
	case "source":
		err = c.sub(ctx, "source", args, map[string]func(context.Context, []string) error{"create": c.sourceCreate})
	case "demo":
		err = c.demo(ctx, args)
	case "import":
		err = c.importCommand(ctx, args)
	case "bench":
		err = c.sub(ctx, "bench", args, map[string]func(context.Context, []string) error{"seed": c.benchSeed, "ingest": c.benchIngest,
			"profiles": c.benchProfiles, "segments": c.benchSegments, "entered": c.benchEntered})
	case "version":
		v, r, g := BuildInfo()
		fmt.Fprintf(c.Stdout, "kizuna %s (revision %s, %s)\n", v, r, g)
	case "help", "-h", "--help":
		fmt.Fprint(c.Stdout, usage)
	default:
		fmt.Fprintf(c.Stderr, "kizuna: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(c.Stderr, "kizuna %s: %s\n", cmd, describe(err))
		return 1
	}
	return 0
}

// describe turns an error into the message a person at a terminal should see.
func describe(err error) string {
	if e, ok := errs.As(err); ok && e.Kind != errs.KindInternal {
		if e.Field != "" {
			return fmt.Sprintf("--%s: %s", strings.ReplaceAll(e.Field, "_", "-"), e.Msg)
		}
		return e.Msg
	}
	return err.Error()
}

func (c *CLI) sub(ctx context.Context, name string, args []string, cmds map[string]func(context.Context, []string) error) error {
	if len(args) == 0 {
		return fmt.Errorf("missing subcommand; try: kizuna %s create -h", name)
	}
	fn, ok := cmds[args[0]]
	if !ok {
		return fmt.Errorf("unknown subcommand %q", args[0])
	}
	return fn(ctx, args[1:])
}

// flags makes a FlagSet with every setting registered, for command name.
func (c *CLI) flags(name string) (*flag.FlagSet, *config.Loader) {
	fs := flag.NewFlagSet("kizuna "+name, flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	return fs, config.Register(fs, c.Getenv)
}

func (c *CLI) parse(fs *flag.FlagSet, l *config.Loader, args []string) (*config.Config, *slog.Logger, error) {
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() > 0 {
		return nil, nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg, err := l.Config()
	if err != nil {
		return nil, nil, fmt.Errorf("invalid settings:\n%w", err)
	}
	return cfg, newLogger(c.Stderr, cfg), nil
}

func newLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func (c *CLI) open(ctx context.Context, name string, args []string, extra func(fs *flag.FlagSet)) (*App, error) {
	fs, l := c.flags(name)
	if extra != nil {
		extra(fs)
	}
	cfg, log, err := c.parse(fs, l, args)
	if err != nil {
		return nil, err
	}
	return Open(ctx, cfg, log, Options{HashParams: c.HashParams})
}

func (c *CLI) migrate(ctx context.Context, args []string) error {
	a, err := c.open(ctx, "migrate", args, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintln(c.Stdout, "database is up to date")
	return nil
}

func (c *CLI) adminCreate(ctx context.Context, args []string) error {
	var email, password, name string
	a, err := c.open(ctx, "admin create", args, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "administrator's email address (required)")
		fs.StringVar(&password, "password", "", "password, at least 10 characters (required)")
		fs.StringVar(&name, "name", "", "display name (default: the part of the email before @)")
	})
	if err != nil {
		return err
	}
	defer a.Close()
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	m, err := a.Accounts.CreateAdmin(ctx, email, password, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "administrator %s (%s) is ready; log in at %s/login\n", m.Email, m.ID, a.Config.BaseURL)
	return nil
}

func (c *CLI) apikeyCreate(ctx context.Context, args []string) error {
	var name, scopes string
	a, err := c.open(ctx, "apikey create", args, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "what the key is for, e.g. the integration's name (required)")
		fs.StringVar(&scopes, "scopes", "read", "comma-separated scopes: admin, read, write")
	})
	if err != nil {
		return err
	}
	defer a.Close()
	var list []accounts.Scope
	for s := range strings.SplitSeq(scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, accounts.Scope(s))
		}
	}
	raw, key, err := a.Accounts.CreateAPIKey(ctx, accounts.System(), name, list)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "API key %q (%s) with scopes %s; it is shown only once:\n%s\n", key.Name, key.ID, scopes, raw)
	return nil
}

func (c *CLI) sourceCreate(ctx context.Context, args []string) error {
	var name string
	a, err := c.open(ctx, "source create", args, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "what sends the events, e.g. the website or the mobile app (required)")
	})
	if err != nil {
		return err
	}
	defer a.Close()
	key, src, err := a.Ingest.Sources().Create(ctx, accounts.System(), name)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "tracking source %q (%s); send events to %s/v1/batch with this write key as the Basic-auth user:\n%s\n",
		src.Name, src.ID, a.Config.BaseURL, key)
	return nil
}

// Main is the program: it runs the command line of this process and exits.
func Main(ctx context.Context) {
	c := &CLI{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	os.Exit(c.Run(ctx, os.Args[1:]))
}

func (c *CLI) demo(ctx context.Context, args []string) error {
	a, err := c.open(ctx, "demo", args, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := demo.Seed(ctx, demo.Parts{Accounts: a.Accounts, Community: a.Community, Meetup: a.Meetup,
		KB: a.KB, Badges: a.Badges, Survey: a.Survey, CRM: a.CRM, Consent: a.Consent, Onboarding: a.Onboarding,
		Segments: a.Segments, Scores: a.Scores}, a.Log)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "demo community ready: %d accounts created, %d already there\n", res.Created, res.Existing)
	fmt.Fprintf(c.Stdout, "log in at %s/login as %s (or any demo account) with the password %s\n",
		a.Config.BaseURL, demo.People[0].Email, demo.Password)
	return nil
}

func (c *CLI) benchSeed(ctx context.Context, args []string) error {
	opts := community.LoadOptions{}
	a, err := c.open(ctx, "bench seed", args, func(fs *flag.FlagSet) {
		fs.IntVar(&opts.Posts, "posts", 50_000, "posts to write")
		fs.IntVar(&opts.Comments, "comments", 950_000, "replies to write, spread over the posts")
		fs.IntVar(&opts.ThreadSize, "thread", 200, "replies on the one thread the benchmark reads")
		fs.IntVar(&opts.Spaces, "spaces", 5, "spaces the posts are spread over")
		fs.IntVar(&opts.Members, "members", 50, "authors")
	})
	if err != nil {
		return err
	}
	defer a.Close()
	switch {
	case opts.Posts < 1 || opts.Spaces < 1 || opts.Members < 1:
		return errs.Invalid("posts", "posts, spaces and members must be at least 1")
	case opts.Comments < opts.ThreadSize:
		return errs.Invalid("comments", "comments must be at least the thread size (%d)", opts.ThreadSize)
	}
	start := time.Now()
	data, err := a.Community.SeedLoad(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "wrote %d posts and %d replies in %s; load them with, for example:\n", opts.Posts, opts.Comments, time.Since(start).Round(time.Second))
	fmt.Fprintf(c.Stdout, "  wrk -t2 -c32 -d30s --latency %s/s/%s\n", a.Config.BaseURL, data.SpaceSlug)
	fmt.Fprintf(c.Stdout, "  wrk -t2 -c32 -d30s --latency %s/posts/%s\n", a.Config.BaseURL, data.ThreadID)
	return nil
}
