package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// stream runs r in the background and delivers what the server writes (bare
// JSON objects, back to back or newline separated) as the package doc
// describes. terminal, when not nil, says which item ends a watch: the stream
// ends normally right after it, and an end before it is an error.
func stream[T any](ctx context.Context, c *Client, r request, what string, terminal func(*T) bool) (<-chan T, <-chan error) {
	vals := make(chan T)
	errs := make(chan error, 1)
	go func() {
		err := readStream(ctx, c, r, what, terminal, vals)
		if err != nil {
			errs <- err
		}
		close(vals)
		close(errs)
	}()
	return vals, errs
}

func readStream[T any](ctx context.Context, c *Client, r request, what string, terminal func(*T) bool, vals chan<- T) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	return readBody(ctx, resp, what, terminal, vals)
}

// streamBody delivers what an answered request's body streams, as stream
// does.
func streamBody[T any](ctx context.Context, resp *http.Response, what string, terminal func(*T) bool) (<-chan T, <-chan error) {
	vals := make(chan T)
	errs := make(chan error, 1)
	go func() {
		err := readBody(ctx, resp, what, terminal, vals)
		if err != nil {
			errs <- err
		}
		close(vals)
		close(errs)
	}()
	return vals, errs
}

func readBody[T any](ctx context.Context, resp *http.Response, what string, terminal func(*T) bool, vals chan<- T) error {
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var v T
		if err := dec.Decode(&v); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				if terminal != nil {
					return fmt.Errorf("the %s ended before a terminal phase (the server may have restarted or the event been deleted; watch again or get the status): %w",
						what, io.ErrUnexpectedEOF)
				}
				return nil
			}
			return fmt.Errorf("reading the %s: %w", what, err)
		}
		last := terminal != nil && terminal(&v)
		if last {
			finishBody(dec, resp.Body)
		}
		select {
		case vals <- v:
		case <-ctx.Done():
			return ctx.Err()
		}
		if last {
			return nil
		}
	}
}

// endWait bounds how long finishBody waits for the end of an answer (a
// variable for tests).
var endWait = 100 * time.Millisecond

// finishBody reads what is left of an answer after its terminal value, so
// that its connection can carry the next request: closed before its end,
// the connection is dropped, and the next call (a worker's next job) would
// dial a new one. The server ends the answer right after that value; one
// that does not within endWait is left to the caller's Close, which drops
// the connection as before. It runs before the terminal value is delivered,
// so that a request made on it finds the connection idle.
func finishBody(dec *json.Decoder, body io.Reader) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(io.Discard, io.LimitReader(io.MultiReader(dec.Buffered(), body), 1<<16))
	}()
	t := time.NewTimer(endWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
