package demo_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/demo"
)

func TestSeedIsRepeatable(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t, db.SQLite, backbone.Migrations(), accounts.Migrations())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	acc := accounts.New(accounts.Deps{DB: d, Outbox: backbone.NewOutbox(d), Log: log, HashParams: accounts.TestHashParams()})
	res, err := demo.Seed(ctx, acc, log)
	if err != nil || res.Created != len(demo.People) || res.Existing != 0 {
		t.Fatalf("first seed: %+v %v", res, err)
	}
	res, err = demo.Seed(ctx, acc, log)
	if err != nil || res.Created != 0 || res.Existing != len(demo.People) {
		t.Fatalf("second seed: %+v %v", res, err)
	}
	for _, p := range demo.People {
		m, err := acc.MemberByEmail(ctx, p.Email)
		if err != nil || m.Role != p.Role || !m.EmailVerified || m.Locale != p.Locale {
			t.Fatalf("%s: %+v %v", p.Email, m, err)
		}
	}
	if _, _, err := acc.LogIn(ctx, demo.People[0].Email, demo.Password, accounts.Client{IP: "127.0.0.1"}); err != nil {
		t.Fatalf("demo admin cannot log in: %v", err)
	}
}
