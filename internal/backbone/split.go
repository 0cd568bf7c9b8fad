package backbone

import (
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
		start, depth, inString := i, 0, false
	scan:
		for ; i < len(data); i++ {
			c := data[i]
			if inString {
				switch c {
				case '\\':
					i++
				case '"':
					inString = false
				}
				continue
			}
			switch c {
			case '"':
				inString = true
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
