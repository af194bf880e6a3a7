// Package profile is a stand-in for github.com/google/pprof/profile with
// only what github.com/dop251/goja's profiler uses (see ../README.md). It
// can describe a profile but not encode one.
package profile

import (
	"errors"
	"io"
)

// Profile is a set of samples and what they refer to.
type Profile struct {
	SampleType    []*ValueType
	Sample        []*Sample
	Mapping       []*Mapping
	Location      []*Location
	Function      []*Function
	PeriodType    *ValueType
	Period        int64
	TimeNanos     int64
	DurationNanos int64
}

// ValueType names what a sample value counts, and in which unit.
type ValueType struct {
	Type string
	Unit string
}

// Sample is a stack (innermost location first) and its values.
type Sample struct {
	Location []*Location
	Value    []int64
}

// Mapping is where code came from.
type Mapping struct {
	ID   uint64
	File string
}

// Location is a place in the code, with the source lines it stands for.
type Location struct {
	ID      uint64
	Mapping *Mapping
	Address uint64
	Line    []Line
}

// Line is a source line in a function.
type Line struct {
	Function *Function
	Line     int64
	Column   int64
}

// Function is a named function in a source file.
type Function struct {
	ID         uint64
	Name       string
	SystemName string
	Filename   string
	StartLine  int64
}

// ErrNotBuiltIn is what Write returns.
var ErrNotBuiltIn = errors.New("profile: encoding profiles is not built into this program (github.com/google/pprof is replaced by a stand-in; see third_party/pprof)")

// Write returns ErrNotBuiltIn and writes nothing.
func (p *Profile) Write(w io.Writer) error { return ErrNotBuiltIn }
