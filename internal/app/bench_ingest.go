package app

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/id"
)

// benchIngest is a bounded load generator for the tracking API of a running server: it sends
// batches of realistic track and page calls and prints accepted events per second and the latency
// of the acknowledgements. It talks to loopback only.
//
// By default it runs closed-loop: a few workers each send the next batch as soon as the last one
// was answered, which measures the most the server accepts. With --rate it runs open-loop: batches
// leave on a fixed schedule whatever the answers, and each latency counts from the batch's slot in
// the schedule, not from when it could be sent, so a stalled server shows up in the figures
// (no coordinated omission). Requests in flight are capped; a batch that left late is counted.
func (c *CLI) benchIngest(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("kizuna bench ingest", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	target := fs.String("url", "http://127.0.0.1:8080", "the running server (loopback only)")
	key := fs.String("write-key", "", "a tracking source's write key (kizuna source create)")
	total := fs.Int("events", 200_000, "events to send (closed loop)")
	batch := fs.Int("batch", 100, "events per /v1/batch request")
	workers := fs.Int("concurrency", 8, "requests in flight (closed loop); the cap on requests in flight (open loop)")
	rate := fs.Int("rate", 0, "events per second on a fixed schedule (open loop); 0: closed loop")
	duration := fs.Duration("duration", 30*time.Second, "how long to send (open loop)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := loopbackURL(*target)
	if err != nil {
		return err
	}
	switch {
	case *key == "":
		return errs.Invalid("write_key", "give a source's write key (kizuna source create --name bench)")
	case *total < 1 || *batch < 1 || *batch > 2500 || *workers < 1 || *workers > 256:
		return errs.Invalid("events", "events ≥ 1, batch 1..2500, concurrency 1..256")
	case *rate < 0 || *rate > 1_000_000 || *duration <= 0 || *duration > 10*time.Minute:
		return errs.Invalid("rate", "rate 0..1000000 events/s, duration up to 10m")
	}
	b := newIngestBencher(u, *key, *workers)
	if *rate > 0 {
		return b.openLoop(ctx, c.Stdout, *rate, *duration, *batch, *workers)
	}
	return b.closedLoop(ctx, c.Stdout, *total, *batch, *workers)
}

// loopbackURL parses the server's URL and refuses anything but loopback.
func loopbackURL(target string) (*url.URL, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return nil, errs.Invalid("url", "%q is not a URL", target)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, errs.Invalid("url", "the load generator only talks to loopback (127.0.0.1, ::1, localhost)")
	}
	return u, nil
}

// ingestBencher sends batches and collects what came of them.
type ingestBencher struct {
	url, key string
	client   *http.Client
	people   int // distinct people the events come from

	accepted, failed atomic.Int64
	mu               sync.Mutex
	lat              []time.Duration
}

func newIngestBencher(u *url.URL, key string, conns int) *ingestBencher {
	return &ingestBencher{
		url: u.JoinPath("/v1/batch").String(), key: key, people: 500,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}},
	}
}

// send posts one batch and records its latency counted from since.
func (b *ingestBencher) send(ctx context.Context, body []byte, since time.Time) {
	req, _ := http.NewRequestWithContext(ctx, "POST", b.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(b.key, "")
	resp, err := b.client.Do(req)
	if err != nil {
		b.failed.Add(1)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(since)
	if resp.StatusCode != http.StatusOK {
		b.failed.Add(1)
		return
	}
	b.accepted.Add(int64(bytes.Count(body, []byte(`"messageId"`))))
	b.mu.Lock()
	b.lat = append(b.lat, d)
	b.mu.Unlock()
}

// closedLoop sends total events from workers that each wait for an answer before the next batch.
func (b *ingestBencher) closedLoop(ctx context.Context, out io.Writer, total, batch, workers int) error {
	bodies := make(chan []byte, workers*2)
	go func() {
		defer close(bodies)
		for sent := 0; sent < total && ctx.Err() == nil; sent += batch {
			bodies <- ingestBatch(min(batch, total-sent), sent, b.people)
		}
	}()
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range bodies {
				b.send(ctx, body, time.Now())
			}
		}()
	}
	wg.Wait()
	return b.report(out, time.Since(start), batch)
}

// openLoop sends rate events a second, in batches on a fixed schedule, for d. At most inFlight
// requests are outstanding: a batch whose slot comes while they are leaves late, and its latency
// still counts from its slot.
func (b *ingestBencher) openLoop(ctx context.Context, out io.Writer, rate int, d time.Duration, batch, inFlight int) error {
	interval := time.Duration(float64(time.Second) * float64(batch) / float64(rate))
	n := max(1, int(d/interval))
	// Bodies are made ahead of their slots so that making them does not delay the schedule.
	bodies := make(chan []byte, inFlight*2)
	go func() {
		defer close(bodies)
		for k := 0; k < n && ctx.Err() == nil; k++ {
			bodies <- ingestBatch(batch, k*batch, b.people)
		}
	}()
	slots := make(chan struct{}, inFlight)
	var late, capped, sent int
	var worst time.Duration
	var wg sync.WaitGroup
	timer := time.NewTimer(0)
	defer timer.Stop()
	start := time.Now()
	for k := 0; k < n; k++ {
		slot := start.Add(time.Duration(k) * interval)
		if wait := time.Until(slot); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
		}
		body, ok := <-bodies
		if !ok || ctx.Err() != nil {
			break
		}
		select {
		case slots <- struct{}{}:
		default:
			capped++
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		if behind := time.Since(slot); behind > time.Millisecond {
			late++
			worst = max(worst, behind)
		}
		sent += batch
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			b.send(ctx, body, slot)
		}()
	}
	sending := time.Since(start)
	wg.Wait()
	took := time.Since(start)
	fmt.Fprintf(out, "open loop at %d events/s for %s: sent %.0f events/s; %d of %d batches left more than 1ms late (worst %s), %d waited for the cap of %d in flight\n",
		rate, d, float64(sent)/sending.Seconds(), late, n, worst.Round(10*time.Microsecond), capped, inFlight)
	return b.report(out, took, batch)
}

// report prints accepted events per second and the acknowledgement latency percentiles.
func (b *ingestBencher) report(out io.Writer, took time.Duration, batch int) error {
	lat := b.lat
	if len(lat) == 0 {
		return fmt.Errorf("no batch was accepted (%d failed); is the server running and the write key right?", b.failed.Load())
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return percentile(lat, p).Round(10 * time.Microsecond) }
	fmt.Fprintf(out, "accepted %d events in %s: %.0f events/s (%d requests failed)\n",
		b.accepted.Load(), took.Round(time.Millisecond), float64(b.accepted.Load())/took.Seconds(), b.failed.Load())
	fmt.Fprintf(out, "acknowledgement latency per batch of %d: p50 %s, p90 %s, p95 %s, p99 %s, max %s\n",
		batch, pct(0.50), pct(0.90), pct(0.95), pct(0.99), lat[len(lat)-1].Round(10*time.Microsecond))
	return nil
}

// percentile is the p-th (0..1) of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// ingestBatch is a /v1/batch body of n events shaped like a website's: page views, tracks and
// (one in ten) identify calls that give the visitor's user id and email, from a given number of
// people, about 400 bytes each. It is written out directly rather than through encoding/json: the
// generator shares the machine with the server it measures, so it is kept cheap.
func ingestBatch(n, offset, people int) []byte {
	now := time.Now().UTC()
	ts := now.Format(time.RFC3339Nano)
	b := make([]byte, 0, n*420+64)
	b = append(b, `{"batch":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		person := (offset + i) * 7919 % people
		b = append(b, `{"anonymousId":"anon-`...)
		b = fmt.Appendf(b, "%04d", person)
		b = append(b, `","context":{"locale":"ja-JP","page":{"path":"/pricing","referrer":"https://www.google.co.jp/"},`+
			`"userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)"},`...)
		switch {
		case (offset+i)%10 == 9:
			b = fmt.Appendf(b, `"userId":"user-%d","traits":{"email":"user%d@bench.kizuna.dev","plan":"business"},"type":"identify",`, person, person)
		case i%3 == 0:
			b = append(b, `"event":"Pricing Viewed","properties":{"currency":"JPY","plan":"business","value":29800},"type":"track",`...)
		default:
			b = append(b, `"name":"料金プラン","type":"page",`...)
		}
		b = append(b, `"messageId":"`...)
		b = append(b, id.New(now)...)
		b = append(b, `","timestamp":"`...)
		b = append(b, ts...)
		b = append(b, `"}`...)
	}
	b = append(b, `],"sentAt":"`...)
	b = append(b, ts...)
	b = append(b, `"}`...)
	return b
}
