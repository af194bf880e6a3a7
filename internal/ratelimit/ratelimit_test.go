package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// TestBurstThenRate: a key gets burst attempts at once, then one per
// 1/rate; other keys are not affected; a refund gives a token back.
func TestBurstThenRate(t *testing.T) {
	c := &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := New(6, 3, c.now) // one token every 10 s
	for i := range 3 {
		if ok, _ := l.Take("a"); !ok {
			t.Fatalf("attempt %d refused within the burst", i)
		}
	}
	ok, wait := l.Take("a")
	if ok || wait != 10*time.Second {
		t.Fatalf("4th attempt: %v, wait %s; want refused, wait 10s", ok, wait)
	}
	if ok, _ := l.Take("b"); !ok {
		t.Fatal("another key was refused")
	}
	c.t = c.t.Add(4 * time.Second)
	if ok, wait := l.Take("a"); ok || wait != 6*time.Second {
		t.Fatalf("after 4s: %v, wait %s; want refused, wait 6s", ok, wait)
	}
	c.t = c.t.Add(6 * time.Second)
	if ok, _ := l.Take("a"); !ok {
		t.Fatal("after 10s the token was not back")
	}
	l.Refund("a")
	if ok, _ := l.Take("a"); !ok {
		t.Fatal("the refunded token was not there")
	}
	if ok, _ := l.Take("a"); ok {
		t.Fatal("more tokens than taken were refunded")
	}
}

// TestSweepForgetsFullBuckets: the map stays bounded.
func TestSweepForgetsFullBuckets(t *testing.T) {
	c := &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := New(60, 1, c.now)
	for i := range maxKeys {
		l.Take(fmt.Sprint(i))
	}
	c.t = c.t.Add(time.Minute)
	l.Take("new")
	if n := len(l.buckets); n != 1 {
		t.Fatalf("%d buckets after the sweep, want 1", n)
	}
}
