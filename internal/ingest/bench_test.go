package ingest_test

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/db/dbtest"
)

// benchBody is a /v1/batch body of n events shaped like `kizuna bench ingest` sends: page views
// and tracks from a few hundred visitors, about 400 bytes each, every message id new.
func benchBody(n, offset int) []byte {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	var b bytes.Buffer
	b.WriteString(`{"batch":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		k := offset + i
		fmt.Fprintf(&b, `{"messageId":"bench-%d-%d","anonymousId":"anon-%04d","timestamp":%q,`+
			`"context":{"page":{"path":"/pricing","referrer":"https://www.google.co.jp/"},`+
			`"userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)","locale":"ja-JP"},`, time.Now().UnixNano(), k, k%500, now)
		if k%3 == 0 {
			b.WriteString(`"type":"track","event":"Pricing Viewed","properties":{"plan":"business","currency":"JPY","value":29800}}`)
		} else {
			b.WriteString(`"type":"page","name":"料金プラン"}`)
		}
	}
	fmt.Fprintf(&b, `],"sentAt":%q}`, now)
	return b.Bytes()
}

// BenchmarkBatch measures events per second accepted (durable on the stream) through POST
// /v1/batch, 100 events a request from eight concurrent clients, with the event log consumer
// running as in a server. On a shared machine the rate depends on the neighbours; cpu-µs/event,
// the process's CPU time (server, clients and the event log consumer catching up) per event,
// depends on them far less.
//
//	go test -run '^$' -bench Batch -benchtime 100000x ./internal/ingest/
func BenchmarkBatch(b *testing.B) {
	const batch, clients = 100, 8
	for _, e := range dbtest.Engines() {
		b.Run(string(e), func(b *testing.B) {
			v := setup(b, e)
			bodies := make(chan []byte, clients)
			go func() {
				defer close(bodies)
				for sent := 0; sent < b.N; sent += batch {
					bodies <- benchBody(min(batch, b.N-sent), sent)
				}
			}()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			var wg sync.WaitGroup
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for body := range bodies {
						req, _ := http.NewRequest(http.MethodPost, v.srv.URL+"/v1/batch", bytes.NewReader(body))
						req.SetBasicAuth(v.key, "")
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							continue
						}
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Errorf("status %d", resp.StatusCode)
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
			waitLogged(b, v, v.sentinel(b))
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
		})
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// waitLogged waits until the event log holds the event with message id mid: the consumer is then
// done with everything sent before it.
func waitLogged(b *testing.B, v *env, mid string) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var n int
		if err := v.logDB.R.QueryRow(`SELECT COUNT(*) FROM events WHERE message_id = $1`, mid).Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("the event log did not catch up")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
