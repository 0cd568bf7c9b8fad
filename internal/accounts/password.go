package accounts

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/kizuna-community/kizuna/internal/errs"
)

// HashParams is the argon2id cost of password hashes.
type HashParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultHashParams follows the OWASP recommendation for argon2id: 19 MiB, two passes, one lane.
func DefaultHashParams() HashParams { return HashParams{Memory: 19 * 1024, Time: 2, Threads: 1} }

// TestHashParams is a cheap cost for tests, where hashing strength does not matter.
func TestHashParams() *HashParams { return &HashParams{Memory: 64, Time: 1, Threads: 1} }

const (
	saltLen = 16
	keyLen  = 32
)

// Password limits.
const (
	MinPasswordLen = 10
	maxPasswordLen = 256
)

func checkPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPasswordLen:
		return errs.Because(errs.Invalid("password", "password must be at least %d characters", MinPasswordLen), "password_short", MinPasswordLen)
	case len(pw) > maxPasswordLen:
		return errs.Because(errs.Invalid("password", "password must be at most %d bytes", maxPasswordLen), "password_long")
	}
	return nil
}

var b64 = base64.RawStdEncoding

// hash returns pw hashed in the PHC string format, which carries its own parameters so that the
// cost can rise later without invalidating stored hashes.
func (p HashParams) hash(pw string) string {
	salt := make([]byte, saltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// verifyPassword reports whether pw matches the PHC-format hash.
func verifyPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var p HashParams
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false
	}
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
