// Command kizuna runs the Kizuna community platform: `kizuna` alone serves it on the embedded
// default (SQLite and NATS JetStream in ./kizuna-data); see `kizuna help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kizuna-community/kizuna/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app.Main(ctx)
}
