package seal

import (
	"bytes"
	"path/filepath"
	"testing"
)

func TestSealer(t *testing.T) {
	dir := t.TempDir()
	key, err := LoadOrCreateKey(filepath.Join(dir, "secrets.key"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateKey(filepath.Join(dir, "secrets.key"))
	if err != nil || !bytes.Equal(key, again) {
		t.Fatalf("key not stable across loads: %v", err)
	}
	s, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("RoundTrip", func(t *testing.T) {
		sealed, err := s.Seal([]byte("hunter2"), []byte("p/k"))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, []byte("hunter2")) {
			t.Fatal("plaintext visible in sealed value")
		}
		got, err := s.Open(sealed, []byte("p/k"))
		if err != nil || string(got) != "hunter2" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("WrongPlaceFails", func(t *testing.T) {
		sealed, _ := s.Seal([]byte("v"), []byte("p/k"))
		if _, err := s.Open(sealed, []byte("p/other")); err == nil {
			t.Fatal("opened with the wrong additional data")
		}
	})
	t.Run("WrongKeyFails", func(t *testing.T) {
		sealed, _ := s.Seal([]byte("v"), nil)
		other, _ := New(bytes.Repeat([]byte{1}, KeySize))
		if _, err := other.Open(sealed, nil); err == nil {
			t.Fatal("opened with another key")
		}
	})
	t.Run("BadKeys", func(t *testing.T) {
		if _, err := ParseKey("abc"); err == nil {
			t.Fatal("short key accepted")
		}
		if _, err := New([]byte("short")); err == nil {
			t.Fatal("short key accepted")
		}
	})
}
