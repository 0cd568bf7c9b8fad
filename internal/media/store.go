package media

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
)

// Store keeps the bytes of uploaded media under a key. Open of a key that is not stored returns an
// error that wraps fs.ErrNotExist; Delete of such a key succeeds. DirStore keeps files on disk;
// internal/media/s3store keeps them in an S3-compatible bucket.
type Store interface {
	// Put stores size bytes from r under key. A stored object is complete or absent, never partial.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Open returns the bytes stored under key; the caller closes them.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes key.
	Delete(ctx context.Context, key string) error
}

// keyRe is what a storage key looks like: one path element that never starts with a dot, so a key
// can neither leave the store's directory nor name DirStore's temporary files.
var keyRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

// ValidKey reports whether key may name a stored object.
func ValidKey(key string) bool { return keyRe.MatchString(key) }

// DirStore keeps media as files in a directory (the data directory's media/ folder). Files are
// written to a temporary file, synced and renamed into place, so readers never see half a file.
type DirStore struct {
	Root string
}

var _ Store = DirStore{}

func (d DirStore) path(key string) (string, error) {
	if !ValidKey(key) {
		return "", fmt.Errorf("invalid media key %q", key)
	}
	return filepath.Join(d.Root, key), nil
}

// Put writes r to the file key, atomically, with mode 0640.
func (d DirStore) Put(ctx context.Context, key string, r io.Reader, size int64, _ string) (err error) {
	final, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.Root, 0o750); err != nil {
		return fmt.Errorf("creating media directory: %w", err)
	}
	f, err := os.CreateTemp(d.Root, ".put-*")
	if err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	n, err := io.Copy(f, r)
	if err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("storing %s: got %d bytes, want %d", key, n, size)
	}
	if err := f.Chmod(0o640); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), final); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	// Sync the directory so the rename survives a crash; not every platform allows it.
	if dir, err := os.Open(d.Root); err == nil {
		dir.Sync()
		dir.Close()
	}
	return nil
}

// Open opens the file key.
func (d DirStore) Open(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// Delete removes the file key; a missing file is not an error.
func (d DirStore) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
