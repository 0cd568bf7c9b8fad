package backbone

import (
	"context"
	"fmt"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
)

// acquireLease takes or renews the named lease for this process for ttl. It reports false while
// another live process holds it. Leases make singleton jobs safe with several nodes running.
func (b *Backbone) acquireLease(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	now := b.now()
	res, err := b.db.W.ExecContext(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at < $4`,
		name, b.node, db.Now(now.Add(ttl)), db.Now(now))
	if err != nil {
		return false, fmt.Errorf("taking lease %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// releaseLease gives up the named lease if this process holds it, so another node takes over at once.
func (b *Backbone) releaseLease(ctx context.Context, name string) {
	b.db.W.ExecContext(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, b.node)
}
