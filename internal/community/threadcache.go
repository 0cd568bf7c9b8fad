package community

import (
	"sync"
	"time"
)

// Thread cache bounds. A popular thread is read far more often than it changes; reading its
// replies from the database is most of the cost of a thread page. Entries are checked against the
// post's version on every read, so a node never serves replies older than what the
// database says; the time to live only bounds how long a renamed author keeps their old name.
const (
	threadCacheSize = 512
	threadCacheTTL  = time.Minute
)

type threadKey struct {
	post, after string
	limit       int
}

type threadEntry struct {
	version  int64
	stored   time.Time
	comments []Comment
}

// threadCache holds recent pages of replies. It is safe for concurrent use.
type threadCache struct {
	mu      sync.Mutex
	size    int
	ttl     time.Duration
	entries map[threadKey]threadEntry
}

func newThreadCache(size int, ttl time.Duration) *threadCache {
	return &threadCache{size: size, ttl: ttl, entries: make(map[threadKey]threadEntry, size)}
}

// get returns the cached replies for key if they are of version and fresh. Callers must not
// modify the returned slice.
func (c *threadCache) get(key threadKey, version int64, now time.Time) ([]Comment, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.version != version || now.Sub(e.stored) > c.ttl {
		return nil, false
	}
	return e.comments, true
}

func (c *threadCache) put(key threadKey, version int64, now time.Time, comments []Comment) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.size {
		for k := range c.entries { // map order is random: evict an arbitrary entry
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = threadEntry{version: version, stored: now, comments: comments}
}
