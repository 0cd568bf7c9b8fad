package segment

import (
	"encoding/json"
	"math"
	"time"
)

// The segment language's property filters ({"property","op","value"}) are reused by score
// rules, so that a filter means the same wherever it is written.

// ParseFilter reads one property filter {"property","op","value"} at path (e.g.
// rules[0].where[1]). Errors are errs.Invalid naming the path of the bad field.
func ParseFilter(raw json.RawMessage, path string) (ValueCond, error) {
	m, err := object(raw, path, "property", "op", "value")
	if err != nil {
		return ValueCond{}, err
	}
	prop, err := str(m, "property", path, true)
	if err != nil {
		return ValueCond{}, err
	}
	vc, err := valueCond(m, path, prop, valueOps)
	if err != nil {
		return ValueCond{}, err
	}
	return *vc, nil
}

// FilterJSON is the canonical JSON form of a property filter, as ParseFilter reads it.
func FilterJSON(vc ValueCond) map[string]any { return vc.canonical("property") }

// MatchFilter reports whether properties pass the filter vc as of now, exactly as an event
// condition's where filter decides.
func MatchFilter(vc ValueCond, properties map[string]any, now time.Time) bool {
	v, ok := properties[vc.Name]
	return matchValue(v, ok, vc, now)
}

// Decay is the part of value left elapsedMs after it was recorded with a half-life of
// halfLifeMs: value · 2^(−elapsed/half-life). No half-life (0) or no time elapsed leaves it
// whole. After 60 half-lives (less than 10⁻¹⁸ of it) nothing is left: PostgreSQL refuses a
// result that underflows, so the SQL Compile makes stops there too, and both agree.
func Decay(value float64, elapsedMs, halfLifeMs int64) float64 {
	if halfLifeMs <= 0 || elapsedMs <= 0 {
		return value
	}
	x := float64(elapsedMs) / float64(halfLifeMs)
	if x > maxHalfLives {
		return 0
	}
	return value * math.Pow(2, -x)
}

// maxHalfLives is where Decay stops: see Decay.
const maxHalfLives = 60
