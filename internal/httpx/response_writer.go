package httpx

import (
	"io"
	"net/http"
)

// recorder notes the status and size of a response. Our middlewares share one recorder per
// request (capture reuses it) so that Recover knows whether anything was written.
type recorder struct {
	http.ResponseWriter
	status int // 0 until the header is written
	bytes  int64
}

// capture returns w as a recorder, wrapping it unless it already is one.
func capture(w http.ResponseWriter) *recorder {
	if rec, ok := w.(*recorder); ok {
		return rec
	}
	return &recorder{ResponseWriter: w}
}

func (w *recorder) WriteHeader(code int) {
	// 1xx informational headers (other than 101) are not the final status.
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the underlying writer's sendfile path for static files.
func (w *recorder) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, src)
	w.bytes += n
	return n, err
}

// Flush sends buffered data to the client, for server-sent events and streaming.
func (w *recorder) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection (deadlines, hijacking).
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// written reports whether the response header has gone out.
func (w *recorder) written() bool { return w.status != 0 }

// code is the status sent, 200 when the handler wrote nothing (net/http sends 200 then).
func (w *recorder) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
