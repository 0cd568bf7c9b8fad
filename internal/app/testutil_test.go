package app

import (
	"flag"
	"io"
	"log/slog"
	"testing"

	"github.com/kizuna-community/kizuna/internal/config"
)

func mustConfig(t *testing.T, env map[string]string) *config.Config {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	l := config.Register(fs, func(k string) string { return env[k] })
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := l.Config()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
