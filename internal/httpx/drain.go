package httpx

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// What DrainBody reads of a body its handler left unread, at most.
const (
	DrainBytes = 64 << 20
	DrainTime  = 10 * time.Second
)

// DrainBody lets a client that sends its whole body before it reads the
// reply see a refusal (413, 401, 404 ...) sent before the body was read.
// Without it the server answers and closes the connection with the upload
// still arriving; the kernel then resets the connection, and a client
// without "Expect: 100-continue" (Python's urllib, for one) gets
// "Connection reset by peer" or "Broken pipe" instead of the reply.
//
// After the handler, the reply is flushed and what is left of the body is
// read and thrown away, up to DrainBytes and for up to DrainTime; past
// either bound the connection is closed as before. A client that asked for
// "100-continue" was never told to send its body, so nothing is drained.
func DrainBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 1 || r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody ||
			strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		// Otherwise net/http reads at most 256 KiB of what is left before
		// it writes the reply, and closes the connection if more is left.
		_ = rc.EnableFullDuplex()
		body := &eofBody{ReadCloser: r.Body}
		r.Body = body
		next.ServeHTTP(w, r)
		if body.eof {
			return
		}
		if rc.Flush() != nil {
			return
		}
		// The next request on the connection sets its own deadline.
		if rc.SetReadDeadline(time.Now().Add(DrainTime)) != nil {
			return
		}
		io.CopyN(io.Discard, body, DrainBytes)
	})
}

// eofBody remembers whether its body was read to the end.
type eofBody struct {
	io.ReadCloser
	eof bool
}

func (b *eofBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}
