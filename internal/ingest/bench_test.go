package ingest_test

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
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
// running as in a server.
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
			start := time.Now()
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
		})
	}
}
