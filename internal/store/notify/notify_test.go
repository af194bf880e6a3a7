package notify

import (
	"testing"
	"time"
)

func recv(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatal("channel closed, want a value")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notification within 5s")
	}
}

func empty(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
		t.Fatal("unexpected notification")
	default:
	}
}

func TestHub(t *testing.T) {
	t.Run("PublishWakesSubscribersOfThatTopicOnly", func(t *testing.T) {
		h := New()
		a, cancelA := h.Subscribe("a")
		defer cancelA()
		b, cancelB := h.Subscribe("b")
		defer cancelB()
		h.Publish("a")
		recv(t, a)
		empty(t, b)
	})
	t.Run("BurstsCoalesceWithoutBlocking", func(t *testing.T) {
		h := New()
		a, cancel := h.Subscribe("a")
		defer cancel()
		for i := 0; i < 100; i++ {
			h.Publish("a")
		}
		recv(t, a)
		empty(t, a)
	})
	t.Run("PublishSetWakesEveryTopic", func(t *testing.T) {
		h := New()
		a, cancelA := h.Subscribe("a")
		defer cancelA()
		b, cancelB := h.Subscribe("b")
		defer cancelB()
		h.PublishSet(map[string]struct{}{"a": {}, "b": {}})
		recv(t, a)
		recv(t, b)
	})
	t.Run("CancelClosesAndIsIdempotent", func(t *testing.T) {
		h := New()
		a, cancel := h.Subscribe("a")
		cancel()
		cancel()
		h.Publish("a")
		if _, ok := <-a; ok {
			t.Fatal("got a value after cancel, want a closed channel")
		}
	})
	t.Run("CloseClosesEverySubscriber", func(t *testing.T) {
		h := New()
		a, cancel := h.Subscribe("a")
		h.Close()
		if _, ok := <-a; ok {
			t.Fatal("want a closed channel after Close")
		}
		cancel()
		late, _ := h.Subscribe("a")
		if _, ok := <-late; ok {
			t.Fatal("want a closed channel when subscribing to a closed hub")
		}
		h.Publish("a")
	})
	t.Run("PublishAllWakesEveryTopic", func(t *testing.T) {
		h := New()
		a, cancelA := h.Subscribe("a")
		b, cancelB := h.Subscribe("b")
		defer cancelA()
		defer cancelB()
		h.PublishAll()
		for _, ch := range []<-chan struct{}{a, b} {
			select {
			case <-ch:
			default:
				t.Fatal("a subscriber was not woken by PublishAll")
			}
		}
	})
}
