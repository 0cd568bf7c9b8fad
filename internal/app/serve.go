package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kizuna-community/kizuna/internal/accounts"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kizuna-community/kizuna/internal/api"
	"github.com/kizuna-community/kizuna/internal/config"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/web"
)

func (c *CLI) serve(ctx context.Context, args []string) error {
	start := time.Now()
	fs, l := c.flags("serve")
	cfg, log, err := c.parse(fs, l, args)
	if err != nil {
		return err
	}
	a, err := Open(ctx, cfg, log, Options{Stream: true, HashParams: c.HashParams})
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Serve(ctx, start, c.Stdout, c.Ready)
}

// Serve listens on the configured address and runs this node's roles until ctx is cancelled,
// then shuts down gracefully: in-flight requests finish, consumers finish the batch in hand, and
// the stream drains, all within the shutdown timeout.
func (a *App) Serve(ctx context.Context, started time.Time, out io.Writer, ready func(addr string)) error {
	ln, err := net.Listen("tcp", a.Config.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", a.Config.Addr, err)
	}
	handler, err := a.Handler()
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          nil,
	}
	// Background work runs on its own context so that shutdown can stop HTTP first and let
	// workers finish what the last requests committed.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	errc := make(chan error, 6)
	goWork := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(workCtx); err != nil && workCtx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	if a.Config.Has(config.RoleWorker) {
		goWork("backbone", a.Backbone.Run)
		goWork("sweeper", a.sweep)
		goWork("segments", a.Segments.Run)
		goWork("scores", a.Scores.Run)
	}
	if a.Config.PprofAddr != "" {
		stopPprof, err := a.servePprof(a.Config.PprofAddr, errc)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopPprof()
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http server: %w", err)
		}
	}()

	addr := ln.Addr().String()
	a.Log.Info("kizuna started", "addr", addr, "roles", a.Config.Roles, "database", a.DB.Engine,
		"stream", streamKind(a.Config), "startup", time.Since(started).Round(time.Millisecond))
	a.banner(ctx, out, addr)
	if ready != nil {
		ready(addr)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		a.Log.Error("stopping after failure", "err", runErr)
	}
	a.Log.Info("shutting down", "timeout", a.Config.ShutdownTimeout)
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.Config.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		a.Log.Warn("http shutdown", "err", err)
	}
	stopWork()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-shutCtx.Done():
		a.Log.Warn("background work did not stop within the shutdown timeout")
	}
	a.Log.Info("stopped")
	return runErr
}

func streamKind(cfg *config.Config) string {
	if cfg.NATSURL != "" {
		return "external"
	}
	return "embedded"
}

// banner tells the person who started Kizuna where it is, and how to create the first admin.
func (a *App) banner(ctx context.Context, out io.Writer, addr string) {
	url := a.Config.BaseURL
	if _, port, _ := net.SplitHostPort(a.Config.Addr); port == "0" {
		url = "http://" + addr // a test or a user asked for any free port
	}
	fmt.Fprintf(out, "Kizuna is running at %s\n", url)
	if !a.Config.Has(config.RoleWeb) {
		return
	}
	has, err := a.Accounts.HasAdmin(ctx)
	if err != nil || has {
		return
	}
	token, err := a.Accounts.SetupToken(ctx)
	if err != nil {
		a.Log.Warn("making the admin set-up link", "err", err)
		return
	}
	fmt.Fprintf(out, "No administrator yet. Open this one-time link to create one (valid 24 hours):\n  %s/setup?token=%s\n", url, token)
}

// sweep deletes expired sessions and tokens, and tracking message ids past their dedupe window,
// hourly.
func (a *App) sweep(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := a.Accounts.SweepExpired(ctx); err != nil && ctx.Err() == nil {
			a.Log.Warn("sweeping expired sessions", "err", err)
		}
		if _, err := a.Ingest.Prune(ctx); err != nil && ctx.Err() == nil {
			a.Log.Warn("pruning tracking message ids", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Handler is the whole HTTP surface of a web node: operations endpoints, the REST API and the
// pages, under request ids, access logs, metrics and panic recovery. RequestID sits outermost
// because it replaces the request, and AccessLog and Metrics read the route the mux sets on it.
func (a *App) Handler() (http.Handler, error) {
	mux := http.NewServeMux()
	a.opsRoutes(mux)
	if a.Config.Has(config.RoleWeb) {
		w, err := web.New(web.Deps{Accounts: a.Accounts, Log: a.Log, BaseURL: a.Config.BaseURL,
			Community: a.Community, Notify: a.Notify, DM: a.DM, Meetup: a.Meetup,
			KB: a.KB, Badges: a.Badges, Survey: a.Survey, Media: a.Media, Sources: a.Ingest.Sources(),
			Profiles: a.Profiles, Identity: a.Identity, CRM: a.CRM, Consent: a.Consent, Privacy: a.Privacy, Onboarding: a.Onboarding, Segments: a.Segments,
			Scores: a.Scores,
			Unlink: func(ctx context.Context, p accounts.Principal, typ, _ string) error {
				// A social identifier's type names the log-in provider ("social:line"), of which
				// a member links one account.
				return a.Accounts.UnlinkSocial(ctx, p.MemberID, strings.TrimPrefix(typ, "social:"))
			}})
		if err != nil {
			return nil, err
		}
		w.Routes(mux)
		api.New(api.Deps{Accounts: a.Accounts, Community: a.Community, Meetup: a.Meetup,
			KB: a.KB, Badges: a.Badges, Survey: a.Survey, Media: a.Media, Sources: a.Ingest.Sources(), Identity: a.Identity,
			Profiles: a.Profiles, CRM: a.CRM, Consent: a.Consent, Segments: a.Segments, Scores: a.Scores, Imports: a.Imports, Privacy: a.Privacy, Log: a.Log}).Routes(mux)
	}
	if a.Config.Has(config.RoleIngest) {
		a.Ingest.Routes(mux)
	}
	metrics := httpx.NewMetrics(a.Metrics)
	return httpx.Chain(mux, httpx.RequestID, httpx.AccessLog(a.Log), metrics.Middleware, httpx.Recover(a.Log)), nil
}

// opsRoutes registers /healthz, /readyz and /metrics.
func (a *App) opsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		status, body := http.StatusOK, map[string]string{}
		for part, err := range a.Ready(ctx) {
			body[part] = "ok"
			if err != nil {
				a.Log.Warn("not ready", "part", part, "err", err)
				status, body[part] = http.StatusServiceUnavailable, "unavailable"
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(body)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Metrics, promhttp.HandlerOpts{Registry: a.Metrics}))
}

// servePprof serves Go's profiles on their own loopback listener, off the public mux, for
// profiling a running server (go tool pprof http://ADDR/debug/pprof/profile). It is off unless
// --pprof-addr is set.
func (a *App) servePprof(addr string, errc chan<- error) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s for pprof: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("pprof server: %w", err)
		}
	}()
	a.Log.Info("serving pprof", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}
