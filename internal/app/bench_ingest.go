package app

import (
	"bytes"
	"context"
	"encoding/json"
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
// batches of realistic track and page calls from a few workers and prints accepted events per
// second and the latency of the acknowledgements. It talks to loopback only.
func (c *CLI) benchIngest(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("kizuna bench ingest", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	target := fs.String("url", "http://127.0.0.1:8080", "the running server (loopback only)")
	key := fs.String("write-key", "", "a tracking source's write key (kizuna source create)")
	total := fs.Int("events", 200_000, "events to send")
	batch := fs.Int("batch", 100, "events per /v1/batch request")
	workers := fs.Int("concurrency", 8, "requests in flight")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*target)
	if err != nil || u.Host == "" {
		return errs.Invalid("url", "%q is not a URL", *target)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errs.Invalid("url", "the load generator only talks to loopback (127.0.0.1, ::1, localhost)")
	}
	switch {
	case *key == "":
		return errs.Invalid("write_key", "give a source's write key (kizuna source create --name bench)")
	case *total < 1 || *batch < 1 || *batch > 2500 || *workers < 1 || *workers > 256:
		return errs.Invalid("events", "events ≥ 1, batch 1..2500, concurrency 1..256")
	}
	bodies := make(chan []byte, *workers*2)
	go func() {
		defer close(bodies)
		for sent := 0; sent < *total && ctx.Err() == nil; sent += *batch {
			bodies <- ingestBatch(min(*batch, *total-sent), sent)
		}
	}()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *workers}}
	var accepted, failed atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range bodies {
				req, _ := http.NewRequestWithContext(ctx, "POST", u.JoinPath("/v1/batch").String(), bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.SetBasicAuth(*key, "")
				t0 := time.Now()
				resp, err := client.Do(req)
				d := time.Since(t0)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
					continue
				}
				accepted.Add(int64(bytes.Count(body, []byte(`"messageId"`))))
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if len(lat) == 0 {
		return fmt.Errorf("no batch was accepted (%d failed); is the server running and the write key right?", failed.Load())
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Fprintf(c.Stdout, "accepted %d events in %s: %.0f events/s (%d requests failed)\n",
		accepted.Load(), took.Round(time.Millisecond), float64(accepted.Load())/took.Seconds(), failed.Load())
	fmt.Fprintf(c.Stdout, "acknowledgement latency per batch of %d: p50 %s, p95 %s, p99 %s, max %s\n",
		*batch, pct(0.50).Round(10*time.Microsecond), pct(0.95).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
	return nil
}

// ingestBatch is a /v1/batch body of n events shaped like a website's: page views and tracks from
// a few hundred visitors, about 400 bytes each.
func ingestBatch(n, offset int) []byte {
	now := time.Now().UTC()
	evs := make([]map[string]any, n)
	for i := range evs {
		visitor := fmt.Sprintf("anon-%04d", (offset+i)%500)
		ev := map[string]any{"messageId": id.New(now), "anonymousId": visitor, "timestamp": now.Format(time.RFC3339Nano),
			"context": map[string]any{"page": map[string]any{"path": "/pricing", "referrer": "https://www.google.co.jp/"},
				"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)", "locale": "ja-JP"}}
		if i%3 == 0 {
			ev["type"], ev["event"] = "track", "Pricing Viewed"
			ev["properties"] = map[string]any{"plan": "business", "currency": "JPY", "value": 29800}
		} else {
			ev["type"], ev["name"] = "page", "料金プラン"
		}
		evs[i] = ev
	}
	b, _ := json.Marshal(map[string]any{"batch": evs, "sentAt": now.Format(time.RFC3339Nano)})
	return b
}
