package app

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/id"
	"github.com/kizuna-community/kizuna/internal/segment"
)

// benchSegmentName names the segment the benchmark creates (once) in its data set.
const benchSegmentName = "bench: five conditions"

// benchSegments times the two segment evaluators over a data set of --profiles profiles and
// about --events events in the configured database, which it builds first unless it holds the
// data set already (use a data directory or database of its own: the data set is synthetic).
//
//   - full: the compiled SQL of segment.BenchDefinition over every profile, --runs times;
//   - incremental: re-evaluating one profile, as the segment consumer does after an event, for
//     --sample profiles spread over the data set.
func (c *CLI) benchSegments(ctx context.Context, args []string) error {
	var size segment.BenchData
	var runs, sample int
	a, err := c.open(ctx, "bench segments", args, func(fs *flag.FlagSet) {
		fs.IntVar(&size.Profiles, "profiles", 1_000_000, "profiles in the data set")
		fs.IntVar(&size.Events, "events", 10_000_000, "events in the data set")
		fs.IntVar(&runs, "runs", 3, "full evaluations to time")
		fs.IntVar(&sample, "sample", 1000, "profiles to re-evaluate one at a time")
	})
	if err != nil {
		return err
	}
	defer a.Close()
	switch {
	case size.Profiles < 1000 || size.Profiles > 20_000_000:
		return errs.Invalid("profiles", "profiles must be 1000..20000000")
	case size.Events < 0 || size.Events > 200_000_000:
		return errs.Invalid("events", "events must be 0..200000000")
	case runs < 1 || runs > 100 || sample < 0 || sample > size.Profiles:
		return errs.Invalid("runs", "runs 1..100, sample 0..profiles")
	}
	d := a.DB
	seeded, err := segment.BenchSeeded(ctx, d, size)
	if err != nil {
		return err
	}
	if seeded {
		fmt.Fprintf(c.Stdout, "reusing the data set of %d profiles\n", size.Profiles)
	} else {
		fmt.Fprintf(c.Stdout, "building a data set of %d profiles and about %d events (%s)\n", size.Profiles, size.Events, d.Engine)
		start := time.Now()
		n, err := segment.SeedBench(ctx, d, size, time.Now(), c.Stdout)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "built it in %s: %d events\n", time.Since(start).Round(time.Second), n)
	}

	def, err := segment.Parse([]byte(segment.BenchDefinition))
	if err != nil {
		return err
	}
	var took []time.Duration
	var members int
	for range runs {
		start := time.Now()
		q, err := segment.Compile(d.Engine, def, time.Now())
		if err != nil {
			return err
		}
		err = d.Tx(ctx, func(tx *sql.Tx) error {
			got, err := segment.Members(ctx, tx, d.Engine, q)
			members = len(got)
			return err
		})
		if err != nil {
			return err
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	fmt.Fprintf(c.Stdout, "full evaluation of a five-condition segment over %d profiles: %d members; median %s, best %s, worst %s (%d runs)\n",
		size.Profiles, members, took[len(took)/2].Round(time.Millisecond), took[0].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond), runs)

	if sample == 0 {
		return nil
	}
	segs, err := a.Segments.List(ctx, accounts.System())
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(segs, func(s segment.Segment) bool { return s.Name == benchSegmentName }) {
		segs = append(segs, segment.Segment{Name: benchSegmentName})
		start := time.Now()
		s, err := a.Segments.Create(ctx, accounts.System(), benchSegmentName, json.RawMessage(segment.BenchDefinition))
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "created the segment %s with its %d members in %s\n", s.ID, s.Count, time.Since(start).Round(time.Millisecond))
	}
	lat := make([]time.Duration, 0, sample)
	for i := range sample {
		pid := segment.BenchProfileID(i * (size.Profiles / sample))
		start := time.Now()
		if err := a.Segments.Reevaluate(ctx, []string{pid}); err != nil {
			return err
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	fmt.Fprintf(c.Stdout, "incremental re-evaluation of one profile against %d segment(s), %d profiles: p50 %s, p95 %s, max %s\n",
		len(segs), sample, percentile(lat, 0.50).Round(time.Microsecond), percentile(lat, 0.95).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
	return nil
}

// benchEntered measures, on a running server, how soon an event that makes a profile enter a
// segment produces Segment Entered, under a steady background load (loopback only). It creates a
// segment of the people who sent this run's "Bench Probe" event, sends --probes such events from
// new people, one every 100 ms, during --rate background events a second, and then reads when
// each probe's profile entered the segment (the time the entry and its event were committed).
// The segment is deleted at the end.
func (c *CLI) benchEntered(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("kizuna bench entered", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	target := fs.String("url", "http://127.0.0.1:8080", "the running server (loopback only)")
	key := fs.String("write-key", "", "a tracking source's write key (kizuna source create)")
	apiKey := fs.String("api-key", "", "an API key with the read and write scopes (kizuna apikey create)")
	rate := fs.Int("rate", 1000, "background events per second")
	probes := fs.Int("probes", 100, "probe events, one every 100 ms")
	people := fs.Int("people", 50_000, "distinct people the background events come from")
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
	case *apiKey == "":
		return errs.Invalid("api_key", "give an API key with the read and write scopes (kizuna apikey create --name bench --scopes read,write)")
	case *rate < 0 || *rate > 100_000 || *probes < 1 || *probes > 1000 || *people < 1:
		return errs.Invalid("rate", "rate 0..100000, probes 1..1000, people ≥ 1")
	}
	api := benchAPI{u: u, key: *apiKey}
	run := id.New(time.Now())
	var seg segment.Segment
	if err := api.do(ctx, "POST", "/api/v1/segments", map[string]any{
		"name": "bench: entered " + run,
		"definition": map[string]any{"event": "Bench Probe", "where": []any{
			map[string]any{"property": "run", "op": "eq", "value": run}}},
	}, &seg); err != nil {
		return err
	}
	defer api.do(context.WithoutCancel(ctx), "DELETE", "/api/v1/segments/"+seg.ID, nil, nil)

	sent := make([]time.Time, *probes)
	user := func(i int) string { return fmt.Sprintf("entered-%s-%d", run, i) }
	track := newIngestBencher(u, *key, 4)
	track.url = u.JoinPath("/v1/track").String()
	if _, err := probeUnderLoad(ctx, c.Stdout, u, *key, *rate, *probes, *people, func(i int) (time.Duration, error) {
		body := fmt.Sprintf(`{"type":"track","event":"Bench Probe","userId":%q,"messageId":%q,"properties":{"run":%q}}`, user(i), user(i), run)
		sent[i] = time.Now()
		track.send(ctx, []byte(body), sent[i])
		if track.failed.Load() > 0 {
			return 0, fmt.Errorf("probe %d: the tracking API refused it", i)
		}
		return 0, nil
	}); err != nil {
		return err
	}

	// Every probe enters; wait for the last ones, then read when each did.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := api.do(ctx, "GET", "/api/v1/segments/"+seg.ID, nil, &seg); err != nil {
			return err
		}
		if seg.Count >= int64(*probes) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d probes entered the segment within 30 s", seg.Count, *probes)
		}
		time.Sleep(100 * time.Millisecond)
	}
	entered := map[string]time.Time{}
	for cursor := ""; ; {
		var page struct {
			Profiles   []segment.Member `json:"profiles"`
			NextCursor string           `json:"next_cursor"`
		}
		path := "/api/v1/segments/" + seg.ID + "/members?limit=1000"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := api.do(ctx, "GET", path, nil, &page); err != nil {
			return err
		}
		for _, m := range page.Profiles {
			entered[m.ID] = m.EnteredAt
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	lat := make([]time.Duration, 0, *probes)
	for i := range *probes {
		var p struct {
			ID string `json:"id"`
		}
		if err := api.do(ctx, "GET", "/api/v1/profiles/lookup?type=user_id&value="+url.QueryEscape(user(i)), nil, &p); err != nil {
			return err
		}
		at, ok := entered[p.ID]
		if !ok {
			return fmt.Errorf("probe %d (profile %s) is not among the segment's members", i, p.ID)
		}
		lat = append(lat, at.Sub(sent[i]))
	}
	slices.Sort(lat)
	fmt.Fprintf(c.Stdout, "event to Segment Entered, %d probes at %d background events/s: p50 %s, p95 %s, max %s\n",
		*probes, *rate, percentile(lat, 0.50).Round(time.Millisecond), percentile(lat, 0.95).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	return nil
}

// benchAPI calls the server's REST API with an API key.
type benchAPI struct {
	u   *url.URL
	key string
}

// do sends body (when not nil) as JSON and decodes a 2xx answer into out (when not nil).
func (a benchAPI) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.u.String()+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		return fmt.Errorf("%s %s answered %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(msg))
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
