package web

import (
	"sync"
	"time"
)

// Anonymous page cache bounds. Most readers of a public thread are not logged in and see the same
// page; rendering a long thread is most of its cost. Entries carry the version of what they show
// and are used only while it is unchanged; the time to live bounds how long details outside that
// version (an author's renamed display name) can lag.
const (
	pageCacheSize = 256
	pageCacheTTL  = time.Minute
)

type pageEntry struct {
	version int64
	stored  time.Time
	body    []byte
}

// pageCache holds rendered pages for visitors who are not logged in. Safe for concurrent use.
type pageCache struct {
	mu      sync.Mutex
	entries map[string]pageEntry
}

func newPageCache() *pageCache { return &pageCache{entries: make(map[string]pageEntry, pageCacheSize)} }

func (c *pageCache) get(key string, version int64, now time.Time) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.version != version || now.Sub(e.stored) > pageCacheTTL {
		return nil, false
	}
	return e.body, true
}

func (c *pageCache) put(key string, version int64, now time.Time, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= pageCacheSize {
		for k := range c.entries { // map order is random: evict an arbitrary entry
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = pageEntry{version: version, stored: now, body: body}
}
