package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Log lines are stored in chunks (table log_chunks, migration 00004): one
// row holds consecutive lines of one stream as a JSONB array of
// [time offset, message] pairs, so that a process writing at disk speed
// costs a few rows per megabyte instead of a row per line. Appends encode
// their chunks before they reach the writer; reads decode only the lines
// they return.

type logStore struct{ s *Store }

// maxChunkBytes is where Append starts a new chunk: a read that wants a
// few lines decodes at most about this much more than it returns. A longer
// line makes a chunk of its own.
const maxChunkBytes = 64 << 10

// JSONB element types (https://sqlite.org/jsonb.html).
const (
	jsonbInt     = 0x3
	jsonbText    = 0x7 // no escapes
	jsonbTextJ   = 0x8 // JSON escapes
	jsonbText5   = 0x9 // JSON5 escapes
	jsonbTextRaw = 0xA // raw text, escaped when shown as JSON
	jsonbArray   = 0xB
)

// chunk is one encoded row: lines [first, first+n) of an Append.
type chunk struct {
	first, n int
	base     int64 // time of its first line, ns
	lines    []byte
}

// encodeChunks cuts entries into chunks of about maxChunkBytes. An entry
// without a time gets now.
func encodeChunks(entries []core.LogEntry, now int64) []chunk {
	var out []chunk
	var c *chunk
	var buf []byte
	for i, e := range entries {
		t := now
		if e.Time != nil {
			t = e.Time.UnixNano()
		}
		if c != nil && len(buf)+len(e.Message) > maxChunkBytes {
			c.lines = finishArray(buf)
			c = nil
		}
		if c == nil {
			out = append(out, chunk{first: i, base: t})
			c = &out[len(out)-1]
			size := 0
			for _, e := range entries[i:] {
				if size += len(e.Message) + 16; size >= maxChunkBytes {
					break
				}
			}
			buf = make([]byte, 5, 5+min(size, maxChunkBytes+len(e.Message)+32))
		}
		buf = appendLine(buf, t-c.base, e.Message)
		c.n++
	}
	if c != nil {
		c.lines = finishArray(buf)
	}
	return out
}

// appendLine appends one [offset, "message"] array.
func appendLine(b []byte, offset int64, msg string) []byte {
	var num [20]byte
	digits := strconv.AppendInt(num[:0], offset, 10)
	inner := jsonbHeaderLen(len(digits)) + len(digits) + jsonbHeaderLen(len(msg)) + len(msg)
	b = appendJSONBHeader(b, jsonbArray, inner)
	b = appendJSONBHeader(b, jsonbInt, len(digits))
	b = append(b, digits...)
	b = appendJSONBHeader(b, jsonbTextRaw, len(msg))
	return append(b, msg...)
}

// finishArray fills in the header of the array whose 5 reserved bytes
// start b (a 4-byte size: chunks are far below 4 GiB).
func finishArray(b []byte) []byte {
	b[0] = 0xE0 | jsonbArray
	binary.BigEndian.PutUint32(b[1:5], uint32(len(b)-5))
	return b
}

func jsonbHeaderLen(size int) int {
	switch {
	case size <= 11:
		return 1
	case size <= 0xFF:
		return 2
	case size <= 0xFFFF:
		return 3
	case size <= 0xFFFFFFFF:
		return 5
	}
	return 9
}

func appendJSONBHeader(b []byte, typ byte, size int) []byte {
	switch {
	case size <= 11:
		return append(b, byte(size)<<4|typ)
	case size <= 0xFF:
		return append(b, 0xC0|typ, byte(size))
	case size <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, 0xD0|typ), uint16(size))
	case size <= 0xFFFFFFFF:
		return binary.BigEndian.AppendUint32(append(b, 0xE0|typ), uint32(size))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xF0|typ), uint64(size))
}

// Append numbers the entries after the stream's last one and stores them.
// An entry without a time is stamped now. NotFoundError if the event does
// not exist.
func (ls logStore) Append(ctx context.Context, s core.LogStream, entries []core.LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	chunks := encodeChunks(entries, nowNS())
	return ls.s.writeAtomic(ctx, func(ctx context.Context, st *txState) error {
		// The stream's foreign key checks that the event exists: no
		// separate look-up on the way in.
		var last int64
		if err := st.QueryRowContext(ctx,
			`INSERT INTO log_streams (event_id, job, container, last_seq) VALUES (?, ?, ?, ?)
			 ON CONFLICT (event_id, job, container) DO UPDATE SET last_seq = last_seq + excluded.last_seq
			 RETURNING last_seq`,
			s.EventID, s.Job, s.Container, len(entries)).Scan(&last); err != nil {
			if isForeignKeyViolation(err) {
				return core.NewNotFound("Event", s.EventID)
			}
			return fmt.Errorf("advance log stream %s: %w", streamName(s), err)
		}
		before := last - int64(len(entries))
		for _, c := range chunks {
			first := before + int64(c.first) + 1
			if _, err := st.ExecContext(ctx,
				`INSERT INTO log_chunks (event_id, job, container, first_seq, last_seq, time_ns, lines)
				 VALUES (?, ?, ?, ?, ?, ?, ?)`,
				s.EventID, s.Job, s.Container, first, first+int64(c.n)-1, c.base, c.lines); err != nil {
				return fmt.Errorf("append to log stream %s: %w", streamName(s), err)
			}
		}
		st.touch(core.TopicLogs(s.EventID))
		return nil
	})
}

func streamName(s core.LogStream) string {
	return fmt.Sprintf("%s/%s/%s", s.EventID, s.Job, s.Container)
}

// Read returns up to limit entries with Seq > after, in order; limit <= 0
// means no limit. A stream nothing was written to reads as empty.
func (ls logStore) Read(ctx context.Context, s core.LogStream, after int64, limit int) ([]core.StoredLogEntry, error) {
	rows, err := ls.s.reader(ctx).QueryContext(ctx,
		`SELECT first_seq, last_seq, time_ns, lines FROM log_chunks
		 WHERE event_id = ? AND job = ? AND container = ? AND last_seq > ? ORDER BY last_seq`,
		s.EventID, s.Job, s.Container, after)
	if err != nil {
		return nil, fmt.Errorf("read log stream %s: %w", streamName(s), err)
	}
	defer rows.Close()
	var out []core.StoredLogEntry
	for rows.Next() && (limit <= 0 || len(out) < limit) {
		var (
			first, last, base int64
			lines             sql.RawBytes
		)
		if err := rows.Scan(&first, &last, &base, &lines); err != nil {
			return nil, fmt.Errorf("read log lines of %s: %w", streamName(s), err)
		}
		want := int(last - max(after, first-1))
		if limit > 0 {
			want = min(want, limit-len(out))
		}
		if out == nil {
			out = make([]core.StoredLogEntry, 0, max(want, min(limit, 4096)))
		}
		if out, err = decodeChunk(out, lines, first, last, base, after, want); err != nil {
			return nil, fmt.Errorf("read log lines %d-%d of %s: %w", first, last, streamName(s), err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read log stream %s: %w", streamName(s), err)
	}
	return out, nil
}

var errCorruptChunk = errors.New("the stored chunk of log lines is not what Append writes (corrupt database?)")

// decodeChunk appends to out the lines of a chunk (lines first..last) with
// a seq above after, at most want of them.
func decodeChunk(out []core.StoredLogEntry, b []byte, first, last, base, after int64, want int) ([]core.StoredLogEntry, error) {
	typ, body, rest, ok := jsonbElement(b)
	if !ok || typ != jsonbArray || len(rest) != 0 {
		return out, errCorruptChunk
	}
	type span struct {
		seq, ns    int64
		start, end int  // of the message in b
		escaped    byte // the text's type when it has escapes
	}
	spans := make([]span, 0, want)
	seq := first - 1
	for len(body) > 0 && len(spans) < want {
		seq++
		typ, line, next, ok := jsonbElement(body)
		body = next
		if !ok || typ != jsonbArray {
			return out, errCorruptChunk
		}
		if seq <= after {
			continue
		}
		ityp, digits, line, ok := jsonbElement(line)
		if !ok || ityp != jsonbInt {
			return out, errCorruptChunk
		}
		offset, err := strconv.ParseInt(string(digits), 10, 64)
		if err != nil {
			return out, errCorruptChunk
		}
		ttyp, msg, tail, ok := jsonbElement(line)
		if !ok || len(tail) != 0 {
			return out, errCorruptChunk
		}
		sp := span{seq: seq, ns: base + offset, start: cap(b) - cap(msg)}
		sp.end = sp.start + len(msg)
		switch ttyp {
		case jsonbText, jsonbTextRaw:
		case jsonbTextJ, jsonbText5:
			sp.escaped = ttyp
		default:
			return out, errCorruptChunk
		}
		spans = append(spans, sp)
	}
	if seq > last || (len(body) == 0 && seq != last) {
		return out, errCorruptChunk
	}
	if len(spans) == 0 {
		return out, nil
	}
	// One string holds every message the chunk returns.
	from := spans[0].start
	text := string(b[from:spans[len(spans)-1].end])
	for _, sp := range spans {
		msg := text[sp.start-from : sp.end-from]
		if sp.escaped != 0 {
			var err error
			if msg, err = unescapeJSON(msg, sp.escaped == jsonbText5); err != nil {
				return out, errCorruptChunk
			}
		}
		out = append(out, core.StoredLogEntry{Seq: sp.seq, Time: fromNS(sp.ns), Message: msg})
	}
	return out, nil
}

// jsonbElement splits the first JSONB element off b: its type, its payload
// and what follows it.
func jsonbElement(b []byte) (typ byte, payload, rest []byte, ok bool) {
	if len(b) == 0 {
		return 0, nil, nil, false
	}
	typ, code := b[0]&0x0F, int(b[0]>>4)
	h, size := 1, uint64(code)
	switch code {
	case 12:
		h = 2
	case 13:
		h = 3
	case 14:
		h = 5
	case 15:
		h = 9
	}
	if len(b) < h {
		return 0, nil, nil, false
	}
	switch code {
	case 12:
		size = uint64(b[1])
	case 13:
		size = uint64(binary.BigEndian.Uint16(b[1:3]))
	case 14:
		size = uint64(binary.BigEndian.Uint32(b[1:5]))
	case 15:
		size = binary.BigEndian.Uint64(b[1:9])
	}
	if size > uint64(len(b)-h) {
		return 0, nil, nil, false
	}
	end := h + int(size)
	return typ, b[h:end], b[end:], true
}

// unescapeJSON undoes the escapes of a JSON (or, with json5, JSON5) string
// body, as SQLite's own JSON functions write them (migrated lines).
func unescapeJSON(s string, json5 bool) (string, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return "", errCorruptChunk
		}
		switch c = s[i]; c {
		case '"', '\\', '/':
			out = append(out, c)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hexRune(s, i+1, 4)
			if !ok {
				return "", errCorruptChunk
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hexRune(s, i+3, 4); ok && i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					}
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			if !json5 {
				return "", errCorruptChunk
			}
			switch c {
			case '\'':
				out = append(out, c)
			case 'v':
				out = append(out, '\v')
			case '0':
				out = append(out, 0)
			case 'x':
				r, ok := hexRune(s, i+1, 2)
				if !ok {
					return "", errCorruptChunk
				}
				i += 2
				out = utf8.AppendRune(out, r)
			case '\r':
				if i+1 < len(s) && s[i+1] == '\n' {
					i++
				}
			case '\n':
			default:
				return "", errCorruptChunk
			}
		}
	}
	return string(out), nil
}

func hexRune(s string, at, n int) (rune, bool) {
	if at+n > len(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(s[at:at+n], 16, 32)
	return rune(v), err == nil
}

// Close marks the stream complete. NotFoundError if the event does not exist.
func (ls logStore) Close(ctx context.Context, s core.LogStream) error {
	return ls.s.write(ctx, func(ctx context.Context, st *txState) error {
		if _, err := st.ExecContext(ctx,
			`INSERT INTO log_streams (event_id, job, container, closed) VALUES (?, ?, ?, 1)
			 ON CONFLICT (event_id, job, container) DO UPDATE SET closed = 1`,
			s.EventID, s.Job, s.Container); err != nil {
			if isForeignKeyViolation(err) { // the event's foreign key
				return core.NewNotFound("Event", s.EventID)
			}
			return fmt.Errorf("close log stream %s: %w", streamName(s), err)
		}
		st.touch(core.TopicLogs(s.EventID))
		return nil
	})
}

// IsClosed reports whether Close was called; false for an unknown stream.
func (ls logStore) IsClosed(ctx context.Context, s core.LogStream) (bool, error) {
	var closed bool
	err := ls.s.reader(ctx).QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM log_streams WHERE event_id = ? AND job = ? AND container = ? AND closed = 1)`,
		s.EventID, s.Job, s.Container).Scan(&closed)
	if err != nil {
		return false, fmt.Errorf("check whether log stream %s is closed: %w", streamName(s), err)
	}
	return closed, nil
}
