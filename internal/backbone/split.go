package backbone

import (
	"bytes"
	"encoding/json"
	"errors"
)

var errNotArray = errors.New("not a JSON array of values")

// splitArray returns the elements of the JSON array data as slices of it, without decoding them.
// It is one cheap pass where json.Unmarshal into []json.RawMessage makes two (validate, then
// decode) and copies every element; it checks only the array's own punctuation, so each element
// must be validated when it is decoded (json.Unmarshal does).
func splitArray(data []byte) ([]json.RawMessage, error) {
	i := skipSpace(data, 0)
	if i == len(data) || data[i] != '[' {
		return nil, errNotArray
	}
	i = skipSpace(data, i+1)
	var out []json.RawMessage
	if i < len(data) && data[i] == ']' {
		if skipSpace(data, i+1) != len(data) {
			return nil, errNotArray
		}
		return out, nil
	}
	for {
		start, depth := i, 0
	scan:
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				// Most of a message is string text: jump to the string's closing quote, one not
				// escaped by an odd number of backslashes, with the vectorised IndexByte.
				for {
					j := bytes.IndexByte(data[i+1:], '"')
					if j < 0 {
						return nil, errNotArray
					}
					i += 1 + j
					k := i - 1
					for k >= start && data[k] == '\\' {
						k--
					}
					if (i-1-k)%2 == 0 {
						break
					}
				}
			case '{', '[':
				depth++
			case '}', ']':
				if depth == 0 {
					break scan
				}
				depth--
			case ',':
				if depth == 0 {
					break scan
				}
			}
		}
		if i >= len(data) || data[i] == '}' {
			return nil, errNotArray
		}
		end := i
		for end > start && isSpace(data[end-1]) {
			end--
		}
		if end == start {
			return nil, errNotArray
		}
		out = append(out, json.RawMessage(data[start:end:end]))
		if data[i] == ']' {
			if skipSpace(data, i+1) != len(data) {
				return nil, errNotArray
			}
			return out, nil
		}
		i = skipSpace(data, i+1)
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
