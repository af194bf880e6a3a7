package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Page sizes: the API allows 1..100 and defaults to 20.
const (
	defaultLimit = 20
	maxLimit     = 100
)

func pageLimit(l int) int {
	switch {
	case l <= 0:
		return defaultLimit
	case l > maxLimit:
		return maxLimit
	}
	return l
}

func badCursor(c string) error {
	return core.NewBadRequest(fmt.Sprintf("Invalid value %q for \"continue\" query parameter", c))
}

// Times are stored as Unix nanoseconds and returned in UTC.

func nowNS() int64 { return time.Now().UnixNano() }

func fromNS(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// utcPtr returns a UTC copy of *t (nil stays nil), so stored documents decode
// to UTC times and the caller's value is left alone.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// stamp sets *t to now (UTC) when it is unset and returns the UTC value.
func stamp(t **time.Time) time.Time {
	if *t == nil {
		now := time.Now().UTC()
		*t = &now
	}
	return (*t).UTC()
}

func nullNS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

func fromNullNS(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNS(n.Int64)
	return &t
}

func marshal(what string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", what, err)
	}
	return string(b), nil
}

func unmarshal(what, doc string, v any) error {
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return fmt.Errorf("decode stored %s: %w", what, err)
	}
	return nil
}

// affected returns how many rows a statement changed.
func affected(res sql.Result) (int64, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("count changed rows: %w", err)
	}
	return n, nil
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return false
}

// isForeignKeyViolation reports whether err is a FOREIGN KEY violation.
func isForeignKeyViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// placeholders returns "?,?,...,?" with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	b := make([]byte, 0, 2*n)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '?')
	}
	return string(b)
}

// deepCopy returns a copy of v that shares no pointer, slice or map with it
// (for values decoded from JSON: structs, pointers, slices, maps,
// interfaces and plain values; unexported fields, such as a time.Time's,
// are copied as they are). nil stays nil and empty stays empty.
func deepCopy[T any](v T) T {
	var out T
	copyValue(reflect.ValueOf(&out).Elem(), reflect.ValueOf(&v).Elem())
	return out
}

func copyValue(dst, src reflect.Value) {
	switch src.Type() { // the common cases, without reflection
	case stringMapType:
		if m := src.Interface().(map[string]string); m != nil {
			dst.Set(reflect.ValueOf(maps.Clone(m)))
		}
		return
	case stringSliceType:
		if l := src.Interface().([]string); l != nil {
			dst.Set(reflect.ValueOf(slices.Clone(l)))
		}
		return
	}
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		copyValue(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Struct:
		dst.Set(src)
		t := src.Type()
		for i := range src.NumField() {
			if t.Field(i).IsExported() && deep(t.Field(i).Type) {
				copyValue(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		if deep(src.Type().Elem()) {
			for i := range src.Len() {
				copyValue(s.Index(i), src.Index(i))
			}
		} else {
			reflect.Copy(s, src)
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		for it := src.MapRange(); it.Next(); {
			v := reflect.New(src.Type().Elem()).Elem()
			copyValue(v, it.Value())
			m.SetMapIndex(it.Key(), v) // keys are strings
		}
		dst.Set(m)
	case reflect.Array:
		for i := range src.Len() {
			copyValue(dst.Index(i), src.Index(i))
		}
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		v := reflect.New(src.Elem().Type()).Elem()
		copyValue(v, src.Elem())
		dst.Set(v)
	default:
		dst.Set(src)
	}
}

// deep reports whether values of t can share memory with their copies.
func deep(t reflect.Type) bool {
	if d, ok := deepTypes.Load(t); ok {
		return d.(bool)
	}
	d := false
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		d = true
	case reflect.Array:
		d = deep(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() && deep(t.Field(i).Type) {
				d = true
				break
			}
		}
	}
	deepTypes.Store(t, d)
	return d
}

var (
	deepTypes       sync.Map // reflect.Type → bool
	stringMapType   = reflect.TypeFor[map[string]string]()
	stringSliceType = reflect.TypeFor[[]string]()
)

// nullString stores "" as NULL (for columns a unique index skips when
// NULL).
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
