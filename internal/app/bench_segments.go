package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"slices"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
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
