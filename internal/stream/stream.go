// Package stream runs the event stream: NATS JetStream embedded in the process (file store in the
// data directory) or an external NATS cluster, with the same client code either way.
package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The stream that carries every event. Messages are batches of events (see backbone).
const (
	Name    = "KIZUNA_EVENTS"
	Subject = "kizuna.events"
)

// Options say where the stream lives.
type Options struct {
	DataDir string        // the embedded server keeps its file store in DataDir/nats
	URL     string        // nats://…: connect to an external server instead of embedding one
	Listen  string        // host:port where the embedded server also accepts other nodes; empty: in-process only
	MaxAge  time.Duration // how long the stream keeps events for consumers that fall behind; default 7 days
	Log     *slog.Logger
}

// Stream is a connection to JetStream with the events stream created.
type Stream struct {
	srv *server.Server // nil when external
	nc  *nats.Conn
	js  jetstream.JetStream
	log *slog.Logger
}

// Open starts the embedded server (or connects to opts.URL) and makes sure the events stream exists.
func Open(ctx context.Context, opts Options) (*Stream, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = 7 * 24 * time.Hour
	}
	s := &Stream{log: opts.Log}
	var err error
	if opts.URL != "" {
		s.nc, err = nats.Connect(opts.URL, nats.Name("kizuna"), nats.MaxReconnects(-1),
			nats.ReconnectWait(time.Second), nats.Timeout(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("connecting to nats at %s: %w", opts.URL, err)
		}
	} else {
		if err := s.startEmbedded(opts); err != nil {
			return nil, err
		}
	}
	s.js, err = jetstream.New(s.nc)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("opening jetstream: %w", err)
	}
	cfg := jetstream.StreamConfig{
		Name:       Name,
		Subjects:   []string{Subject, Subject + ".>"},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     opts.MaxAge,
		Duplicates: 2 * time.Minute,
		Discard:    jetstream.DiscardOld,
	}
	if _, err := s.js.CreateOrUpdateStream(ctx, cfg); err != nil {
		s.Close()
		return nil, fmt.Errorf("creating stream %s: %w", Name, err)
	}
	return s, nil
}

func (s *Stream) startEmbedded(opts Options) error {
	so := &server.Options{
		ServerName:         "kizuna",
		JetStream:          true,
		StoreDir:           filepath.Join(opts.DataDir, "nats"),
		DontListen:         opts.Listen == "",
		NoSigs:             true,
		NoLog:              true,
		JetStreamMaxMemory: 64 << 20,
	}
	if opts.Listen != "" {
		host, port, err := splitHostPort(opts.Listen)
		if err != nil {
			return err
		}
		so.Host, so.Port = host, port
	}
	srv, err := server.NewServer(so)
	if err != nil {
		return fmt.Errorf("configuring embedded nats: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return errors.New("embedded nats did not start within 10s")
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv), nats.Name("kizuna"))
	if err != nil {
		srv.Shutdown()
		return fmt.Errorf("connecting to embedded nats: %w", err)
	}
	s.srv, s.nc = srv, nc
	if opts.Listen != "" {
		s.log.Info("embedded nats listening", "addr", srv.ClientURL())
	}
	return nil
}

// JetStream returns the JetStream client.
func (s *Stream) JetStream() jetstream.JetStream { return s.js }

// Ping checks that the stream answers, for /readyz.
func (s *Stream) Ping(ctx context.Context) error {
	if !s.nc.IsConnected() {
		return errors.New("nats is not connected")
	}
	_, err := s.js.Stream(ctx, Name)
	return err
}

// Close drains the connection and stops the embedded server, if any.
func (s *Stream) Close() {
	if s.nc != nil {
		s.nc.Drain()
		// Drain is asynchronous; wait for it so pending acks reach the server.
		for i := 0; i < 100 && !s.nc.IsClosed(); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		s.nc.Close()
	}
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
}
