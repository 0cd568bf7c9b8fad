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

type pageEntry[T any] struct {
	version int64
	stored  time.Time
	body    T
}

// pageCache holds renderings: whole pages for visitors who are not logged in ([]byte), and the
// parts of a thread's replies that are the same for every member (replyParts). Values are never
// changed once stored. Safe for concurrent use.
type pageCache[T any] struct {
	mu      sync.Mutex
	entries map[string]pageEntry[T]
}

func newPageCache[T any]() *pageCache[T] {
	return &pageCache[T]{entries: make(map[string]pageEntry[T], pageCacheSize)}
}

func (c *pageCache[T]) get(key string, version int64, now time.Time) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.version != version || now.Sub(e.stored) > pageCacheTTL {
		var zero T
		return zero, false
	}
	return e.body, true
}

func (c *pageCache[T]) put(key string, version int64, now time.Time, body T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= pageCacheSize {
		for k := range c.entries { // map order is random: evict an arbitrary entry
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = pageEntry[T]{version: version, stored: now, body: body}
}
