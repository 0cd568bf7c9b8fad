package app

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/id"
	"github.com/kizuna-community/kizuna/internal/profile"
)

// benchProfiles measures the whole pipeline of a running server, from the tracking API to the
// customer profile, with a bounded load from this machine (loopback only):
//
//  1. throughput: it sends --events events (page views, tracks and identify calls from --people
//     people) as fast as the server accepts them, and times how long until the profile consumer
//     has put every one on its profile (read from /metrics): events processed per second with
//     identities resolved;
//  2. freshness: under a steady --rate of background events, it sends --probes track calls from
//     new people, one every 100 ms, and polls the API until each one's profile exists: the time
//     from sending an event to seeing it on its profile, as staff and the API would.
func (c *CLI) benchProfiles(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("kizuna bench profiles", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	target := fs.String("url", "http://127.0.0.1:8080", "the running server (loopback only)")
	key := fs.String("write-key", "", "a tracking source's write key (kizuna source create)")
	apiKey := fs.String("api-key", "", "an API key with the read scope (kizuna apikey create), for the freshness probes")
	total := fs.Int("events", 300_000, "events to send for the throughput phase (0 skips it)")
	people := fs.Int("people", 50_000, "distinct people the events come from")
	rate := fs.Int("rate", 5_000, "background events per second during the freshness phase")
	probes := fs.Int("probes", 100, "freshness probes, one every 100 ms (0 skips the phase)")
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
	case *probes > 0 && *apiKey == "":
		return errs.Invalid("api_key", "give an API key with the read scope (kizuna apikey create --name bench --scope read)")
	case *total < 0 || *total > 10_000_000 || *people < 1 || *rate < 0 || *rate > 100_000 || *probes < 0 || *probes > 1000:
		return errs.Invalid("events", "events 0..10000000, people ≥ 1, rate 0..100000, probes 0..1000")
	}
	b := newIngestBencher(u, *key, 8)
	b.people = *people
	if *total > 0 {
		if err := b.throughput(ctx, c.Stdout, u, *total); err != nil {
			return err
		}
	}
	if *probes > 0 {
		return freshness(ctx, c.Stdout, u, *key, *apiKey, *rate, *probes, *people)
	}
	return nil
}

// throughput sends total events closed-loop and waits until the profile consumer has handled as
// many more events as were accepted.
func (b *ingestBencher) throughput(ctx context.Context, out io.Writer, u *url.URL, total int) error {
	before, err := consumed(ctx, u, profile.ConsumerName)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := b.closedLoop(ctx, out, total, 100, 8); err != nil {
		return err
	}
	sent := time.Since(start)
	want := before + float64(b.accepted.Load())
	deadline := time.Now().Add(10 * time.Minute)
	for {
		n, err := consumed(ctx, u, profile.ConsumerName)
		if err != nil {
			return err
		}
		if n >= want {
			took := time.Since(start)
			fmt.Fprintf(out, "on their profiles: %d events in %s: %.0f events/s processed (the last %s after sending ended)\n",
				b.accepted.Load(), took.Round(time.Millisecond), float64(b.accepted.Load())/took.Seconds(), (took - sent).Round(time.Millisecond))
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the profile consumer handled %.0f of %d events in 10 minutes", n-before, b.accepted.Load())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// consumed reads how many events a consumer has handled from the server's /metrics.
func consumed(ctx context.Context, u *url.URL, consumer string) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", u.JoinPath("/metrics").String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("reading /metrics: %w", err)
	}
	defer resp.Body.Close()
	prefix := `kizuna_consumer_events_total{consumer="` + consumer + `"} `
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, nil // the consumer has handled nothing yet
}

// freshness runs the background load and the probes.
func freshness(ctx context.Context, out io.Writer, u *url.URL, key, apiKey string, rate, probes, people int) error {
	run := id.New(time.Now())
	lat, err := probeUnderLoad(ctx, out, u, key, rate, probes, people, func(i int) (time.Duration, error) {
		return probe(ctx, u, key, apiKey, fmt.Sprintf("probe-%s-%d", run, i))
	})
	if err != nil {
		return err
	}
	pct := func(p float64) time.Duration { return percentile(lat, p).Round(time.Millisecond) }
	fmt.Fprintf(out, "event to profile, %d probes at %d background events/s: p50 %s, p95 %s, max %s\n",
		probes, rate, pct(0.50), pct(0.95), lat[len(lat)-1].Round(time.Millisecond))
	return nil
}

// probeUnderLoad sends rate background events a second (from people people) while it runs probe
// probes times, one every 100 ms, each in its own goroutine, and returns their latencies sorted.
func probeUnderLoad(ctx context.Context, out io.Writer, u *url.URL, key string, rate, probes, people int, probe func(i int) (time.Duration, error)) ([]time.Duration, error) {
	dur := time.Duration(probes)*100*time.Millisecond + 2*time.Second
	bg := newIngestBencher(u, key, 64)
	bg.people = people
	var wg sync.WaitGroup
	var bgErr error
	if rate > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bgErr = bg.openLoop(ctx, out, rate, dur, 100, 64)
		}()
		time.Sleep(time.Second) // let the background load settle
	}
	lat := make([]time.Duration, probes)
	var pwg sync.WaitGroup
	var mu sync.Mutex
	var failed []error
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for i := range probes {
		<-tick.C
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			d, err := probe(i)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed = append(failed, err)
				return
			}
			lat[i] = d
		}()
	}
	pwg.Wait()
	wg.Wait()
	if len(failed) > 0 {
		return nil, fmt.Errorf("%d of %d probes failed, the first: %w", len(failed), probes, failed[0])
	}
	if bgErr != nil {
		return nil, bgErr
	}
	slices.Sort(lat)
	return lat, nil
}

// probe sends one track call from a new person and polls the API every 10 ms until the person's
// profile exists, returning the time from sending to seeing it.
func probe(ctx context.Context, u *url.URL, key, apiKey, user string) (time.Duration, error) {
	body := fmt.Sprintf(`{"type":"track","event":"Freshness Probe","userId":%q,"messageId":%q}`, user, user)
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, "POST", u.JoinPath("/v1/track").String(), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(key, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("probe %s: tracking answered %d", user, resp.StatusCode)
	}
	lookup := u.JoinPath("/api/v1/profiles/lookup")
	lookup.RawQuery = url.Values{"type": {"user_id"}, "value": {user}}.Encode()
	for time.Since(start) < 30*time.Second {
		req, _ := http.NewRequestWithContext(ctx, "GET", lookup.String(), nil)
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			return time.Since(start), nil
		case http.StatusNotFound:
			time.Sleep(10 * time.Millisecond)
		default:
			return 0, fmt.Errorf("probe %s: lookup answered %d", user, resp.StatusCode)
		}
	}
	return 0, errors.New("probe " + user + ": not on a profile within 30 s")
}
