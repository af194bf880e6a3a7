package js

import (
	"reflect"
	"testing"
)

func TestVLQ(t *testing.T) {
	for _, fields := range [][]int{{0}, {1, 0, 0, 0}, {-1, 15, -16, 1000, 3}, {123456, -654321}} {
		if got := decodeVLQ(encodeVLQ(fields)); !reflect.DeepEqual(got, fields) {
			t.Errorf("round trip of %v gave %v (%q)", fields, got, encodeVLQ(fields))
		}
	}
	// Known encodings from the source map spec's examples.
	if got := decodeVLQ("AAAA"); !reflect.DeepEqual(got, []int{0, 0, 0, 0}) {
		t.Errorf("AAAA = %v", got)
	}
	if got := decodeVLQ("2HwcqxB"); !reflect.DeepEqual(got, []int{123, 456, 789}) {
		t.Errorf("2HwcqxB = %v", got)
	}
	if decodeVLQ("g") != nil || decodeVLQ("!") != nil {
		t.Error("malformed segments must decode to nil")
	}
}

func TestShiftMappings(t *testing.T) {
	// Line 1: segments at gen col 0 and 4 (orig col 0 then +2); line 2: one
	// segment at gen col 2 (orig col delta +1).
	in := encodeVLQ([]int{0, 0, 0, 0}) + "," + encodeVLQ([]int{4, 0, 0, 2}) + ";" + encodeVLQ([]int{2, 0, 1, 1})
	want := encodeVLQ([]int{11, 0, 0, 1}) + "," + encodeVLQ([]int{4, 0, 0, 2}) + ";" + encodeVLQ([]int{3, 0, 1, 1})
	if got := shiftMappings(in, 10); got != want {
		t.Errorf("shiftMappings = %q, want %q", got, want)
	}
}
