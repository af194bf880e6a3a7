package auth

import (
	"strconv"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

func session(id string) *core.Session {
	return &core.Session{ID: id, TokenHash: HashToken("token of " + id), Root: true}
}

func TestSessionCache(t *testing.T) {
	t.Run("ForgetDropsTheSession", func(t *testing.T) {
		c := NewSessionCache(0)
		s := session("a")
		c.Put(c.Ticket(), s, Root(s.ID))
		if got, p, ok := c.Get(s.TokenHash); !ok || got != s || p.SessionID != "a" {
			t.Fatalf("Get after Put: %v %v %v", got, p, ok)
		}
		c.Forget("a")
		if _, _, ok := c.Get(s.TokenHash); ok {
			t.Fatal("a forgotten session is still cached")
		}
	})
	t.Run("ALookupThatRacedWithForgetIsNotCached", func(t *testing.T) {
		c := NewSessionCache(0)
		s := session("a")
		ticket := c.Ticket()         // the lookup starts...
		c.Forget("a")                // ...the session is deleted...
		c.Put(ticket, s, Root(s.ID)) // ...and the lookup, which read it before, ends
		if _, _, ok := c.Get(s.TokenHash); ok {
			t.Fatal("a session read before its deletion was cached")
		}
		c.Put(c.Ticket(), s, Root(s.ID)) // a later lookup caches as usual
		if _, _, ok := c.Get(s.TokenHash); !ok {
			t.Fatal("a lookup after Forget was not cached")
		}
	})
	t.Run("Bounded", func(t *testing.T) {
		c := NewSessionCache(3)
		for i := range 10 {
			s := session(strconv.Itoa(i))
			c.Put(c.Ticket(), s, Root(s.ID))
		}
		if n := len(c.c.byKey); n != 3 {
			t.Fatalf("%d sessions cached, want 3", n)
		}
		if _, _, ok := c.Get(session("9").TokenHash); !ok {
			t.Fatal("the newest session was evicted")
		}
	})
}

func TestForgetAll(t *testing.T) {
	t.Run("SessionsOfUsersGoRootsStay", func(t *testing.T) {
		c := NewSessionCache(0)
		r := session("root")
		u := &core.Session{ID: "user", TokenHash: HashToken("user token"), UserID: "ann@example.com"}
		c.Put(c.Ticket(), r, Root(r.ID))
		ticket := c.Ticket() // a user lookup in flight...
		c.Put(c.Ticket(), u, &Principal{Kind: KindUser, ID: "ann@example.com"})
		c.ForgetAll()
		if _, _, ok := c.Get(u.TokenHash); ok {
			t.Fatal("a user's session survived ForgetAll")
		}
		if _, _, ok := c.Get(r.TokenHash); !ok {
			t.Fatal("root's session was dropped: its roles never change")
		}
		c.Put(ticket, u, &Principal{Kind: KindUser}) // ...ends after it
		if _, _, ok := c.Get(u.TokenHash); ok {
			t.Fatal("a lookup that raced with ForgetAll was cached")
		}
	})
	t.Run("Accounts", func(t *testing.T) {
		c := NewAccountCache(0)
		p := &Principal{Kind: KindServiceAccount, ID: "bot"}
		ticket := c.Ticket()
		c.Put(ticket, "hash", p)
		if got, ok := c.Get("hash"); !ok || got != p {
			t.Fatalf("Get after Put: %v %v", got, ok)
		}
		c.ForgetAll()
		if _, ok := c.Get("hash"); ok {
			t.Fatal("an account survived ForgetAll")
		}
		c.Put(ticket, "hash", p)
		if _, ok := c.Get("hash"); ok {
			t.Fatal("a lookup that raced with ForgetAll was cached")
		}
	})
}
