package backbone

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/stream"
)

const (
	relayBatchRows = 2000            // outbox rows read per round
	maxMessageSize = 512 << 10       // bytes of events per stream message; NATS allows 1 MiB
	relaySweep     = 2 * time.Second // how often the relay looks for rows committed by other processes
	relayLease     = "outbox-relay"
	leaseTTL       = 15 * time.Second
)

// relay moves committed outbox rows to the stream in commit order. Only the node holding the
// relay lease runs it; the others wait, so several worker nodes never publish the same rows at once
// (and if they did, consumers are idempotent). It wakes when this process commits events and sweeps
// every relaySweep for rows committed by other processes, such as the CLI: no tight polling.
func (b *Backbone) relay(ctx context.Context) error {
	sweep := time.NewTicker(relaySweep)
	defer sweep.Stop()
	defer b.releaseLease(context.WithoutCancel(ctx), relayLease)
	var leaseUntil time.Time
	for {
		if ctx.Err() != nil {
			return nil
		}
		now := b.now()
		if now.After(leaseUntil.Add(-leaseTTL / 2)) {
			ok, err := b.acquireLease(ctx, relayLease, leaseTTL)
			if err != nil {
				b.log.Warn("taking relay lease", "err", err)
			}
			if ok {
				leaseUntil = now.Add(leaseTTL)
			} else {
				leaseUntil = time.Time{}
			}
		}
		more := false
		if !leaseUntil.IsZero() {
			n, err := b.relayOnce(ctx)
			if err != nil && ctx.Err() == nil {
				b.log.Error("relaying outbox", "err", err)
				if !sleep(ctx, time.Second) {
					return nil
				}
				continue
			}
			more = n == relayBatchRows
		}
		if more {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-b.outbox.wake:
		case <-sweep.C:
		}
	}
}

// relayOnce publishes up to relayBatchRows outbox rows and deletes them once the stream acked.
func (b *Backbone) relayOnce(ctx context.Context) (int, error) {
	rows, err := b.db.R.QueryContext(ctx, `SELECT seq, payload FROM outbox ORDER BY seq LIMIT $1`, relayBatchRows)
	if err != nil {
		return 0, fmt.Errorf("reading outbox: %w", err)
	}
	var seqs []int64
	var payloads []string
	for rows.Next() {
		var seq int64
		var p string
		if err := rows.Scan(&seq, &p); err != nil {
			rows.Close()
			return 0, err
		}
		seqs = append(seqs, seq)
		payloads = append(payloads, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(seqs) == 0 {
		return 0, nil
	}
	if err := b.publishJSON(ctx, payloads, seqs); err != nil {
		return 0, err
	}
	if b.afterPublish != nil {
		b.afterPublish()
	}
	if err := deleteSeqs(ctx, b.db, seqs); err != nil {
		return 0, err
	}
	b.m.relayed.Add(float64(len(seqs)))
	return len(seqs), nil
}

// deleteSeqs deletes exactly the given rows. Not a range: on PostgreSQL a row with a lower seq may
// commit after the relay read the rows above it.
func deleteSeqs(ctx context.Context, d *db.DB, seqs []int64) error {
	args := make([]any, len(seqs))
	for i, s := range seqs {
		args[i] = s
	}
	// One row of len(seqs) placeholders makes the parenthesised IN list.
	q := `DELETE FROM outbox WHERE seq IN ` + d.Engine.Values(1, len(seqs))
	if _, err := d.W.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("deleting relayed outbox rows: %w", err)
	}
	return nil
}

// publishJSON publishes events given as JSON objects, packed into messages of at most
// maxMessageSize, and waits until the stream acknowledged every message. When keys is not nil it
// holds one outbox seq per payload: each message's Nats-Msg-Id names its first and last seq, so a
// republish of exactly the same rows after a crash is dropped by the stream (anything else that
// repeats is dropped by the consumers, which are idempotent on the event id).
func (b *Backbone) publishJSON(ctx context.Context, payloads []string, keys []int64) error {
	js := b.stream.JetStream()
	var futures []jetstream.PubAckFuture
	var buf strings.Builder
	first := 0 // index of the first payload in buf
	flush := func(next int) error {
		if buf.Len() == 0 {
			return nil
		}
		buf.WriteByte(']')
		m := nats.NewMsg(stream.Subject)
		m.Data = []byte(buf.String())
		if keys != nil {
			m.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("outbox-%d-%d", keys[first], keys[next-1]))
		}
		first = next
		buf.Reset()
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			return fmt.Errorf("publishing events: %w", err)
		}
		futures = append(futures, f)
		return nil
	}
	for i, p := range payloads {
		if buf.Len() > 0 && buf.Len()+len(p)+1 > maxMessageSize {
			if err := flush(i); err != nil {
				return err
			}
		}
		if buf.Len() == 0 {
			buf.WriteByte('[')
		} else {
			buf.WriteByte(',')
		}
		buf.WriteString(p)
	}
	if err := flush(len(payloads)); err != nil {
		return err
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("stream did not accept events: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(30 * time.Second):
			return fmt.Errorf("stream did not acknowledge events within 30s")
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
