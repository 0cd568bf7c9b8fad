package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/kizuna-community/kizuna/internal/errs"
)

// ErrorBody is the JSON shape of every API error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong in terms safe to show the caller.
type ErrorDetail struct {
	Code      string `json:"code"` // invalid, unauthenticated, forbidden, not_found, conflict, too_many_requests, too_large, internal
	Message   string `json:"message"`
	Field     string `json:"field,omitempty"`
	Reason    string `json:"reason,omitempty"` // a stable code for the problem, e.g. last_admin
	RequestID string `json:"request_id"`
}

// WriteJSON writes v as a JSON response with status, never cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// A value we cannot encode is a bug; say so rather than send half a body.
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error","request_id":""}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// WriteError maps err to a status code and an ErrorBody. Categorised errors show their message;
// anything else is logged with the request id and shown only as "internal error".
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeErrorBody(w, r, http.StatusRequestEntityTooLarge, "too_large",
			fmt.Sprintf("request body must be at most %d bytes", tooLarge.Limit), "")
		return
	}
	e, ok := errs.As(err)
	if !ok || e.Kind == errs.KindInternal {
		if log == nil {
			log = slog.Default()
		}
		log.ErrorContext(r.Context(), "request failed", slog.String("request_id", RequestIDFrom(r.Context())),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		writeErrorBody(w, r, http.StatusInternalServerError, "internal", "internal error", "")
		return
	}
	status := statusOf(e.Kind)
	switch e.Kind {
	case errs.KindUnauthenticated:
		if w.Header().Get("WWW-Authenticate") == "" {
			w.Header().Set("WWW-Authenticate", "Bearer")
		}
	case errs.KindTooMany:
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "60")
		}
	}
	msg := e.Msg
	if msg == "" {
		msg = strings.ToLower(http.StatusText(status))
	}
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{
		Code: e.Kind.String(), Message: msg, Field: e.Field, Reason: e.Reason, RequestID: RequestIDFrom(r.Context()),
	}})
}

func statusOf(k errs.Kind) int {
	switch k {
	case errs.KindInvalid:
		return http.StatusBadRequest
	case errs.KindUnauthenticated:
		return http.StatusUnauthorized
	case errs.KindForbidden:
		return http.StatusForbidden
	case errs.KindNotFound:
		return http.StatusNotFound
	case errs.KindConflict:
		return http.StatusConflict
	case errs.KindTooMany:
		return http.StatusTooManyRequests
	default:
		return http.StatusInternalServerError
	}
}

func writeErrorBody(w http.ResponseWriter, r *http.Request, status int, code, msg, field string) {
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{
		Code: code, Message: msg, Field: field, RequestID: RequestIDFrom(r.Context()),
	}})
}

// DecodeJSON reads one JSON value of at most maxBytes from r into dst, rejecting unknown fields.
// Its errors name the field at fault (errs.Invalid), or are *http.MaxBytesError, which
// WriteError turns into 413.
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any, maxBytes int64) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errs.Invalid("body", "Content-Type must be application/json")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	// Anything but whitespace after the value is an error, including a second value.
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return errs.Invalid("body", "request body must be a single JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var (
		syntax    *json.SyntaxError
		typ       *json.UnmarshalTypeError
		tooLarge  *http.MaxBytesError
		invalidTo *json.InvalidUnmarshalError
	)
	switch {
	case errors.As(err, &tooLarge):
		return err
	case errors.Is(err, io.EOF):
		return errs.Invalid("body", "request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.Invalid("body", "malformed JSON: unexpected end of body")
	case errors.As(err, &syntax):
		return errs.Invalid("body", "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return errs.Invalid(field, "must be %s", jsonTypeName(typ.Type))
	case errors.As(err, &invalidTo):
		return fmt.Errorf("decoding JSON: %w", err) // our bug: dst is not a pointer
	}
	if _, ok := errs.As(err); ok {
		return err // from a type's own UnmarshalJSON
	}
	// encoding/json has no type for unknown fields, only this message.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if s, uerr := strconv.Unquote(name); uerr == nil {
			name = s
		}
		return errs.Invalid(name, "unknown field")
	}
	return &errs.Error{Kind: errs.KindInvalid, Field: "body", Msg: "malformed JSON", Err: err}
}

// jsonTypeName describes t as JSON types, with an article: "a string", "an integer".
func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	}
	return "a " + t.Kind().String()
}
