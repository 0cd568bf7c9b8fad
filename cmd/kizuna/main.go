// Command kizuna runs the Kizuna community platform: `kizuna` alone serves it on the embedded
// default (SQLite and NATS JetStream in ./kizuna-data); see `kizuna help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	// Event times are shown and validated in IANA zones (Asia/Tokyo…); embedding the zone database
	// keeps them right on hosts and containers that have none.
	_ "time/tzdata"

	"github.com/kizuna-community/kizuna/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app.Main(ctx)
}
