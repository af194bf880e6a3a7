// Package seal encrypts values at rest (project secrets) with AES-256-GCM.
// Each sealed value is nonce || ciphertext+tag; the key never leaves the
// server's data dir (or the flag it was given by).
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the AES-256 key length in bytes.
const KeySize = 32

// Sealer seals and opens values with one key.
type Sealer struct {
	aead cipher.AEAD
}

// New builds a Sealer from a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secrets key must be %d bytes (64 hex characters), got %d bytes", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("creating AES cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("creating GCM: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// ParseKey decodes a key given as 64 hex characters.
func ParseKey(s string) ([]byte, error) {
	k, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(k) != KeySize {
		return nil, errors.New("secrets key must be 64 hex characters (32 bytes); generate one with `openssl rand -hex 32`")
	}
	return k, nil
}

// LoadOrCreateKey reads the hex key at path, creating it (mode 0600) with a
// fresh random key if the file does not exist.
func LoadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("reading secrets key %s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading secrets key %s: %w", path, err)
	}
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generating secrets key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating folder for secrets key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process won the race
			return LoadOrCreateKey(path)
		}
		return nil, fmt.Errorf("creating secrets key %s: %w", path, err)
	}
	defer f.Close()
	if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		return nil, fmt.Errorf("writing secrets key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("syncing secrets key %s: %w", path, err)
	}
	return k, nil
}

// Seal encrypts plaintext. additional binds the value to where it is stored
// (e.g. "project/key"), so a sealed value moved elsewhere fails to open.
func (s *Sealer) Seal(plaintext, additional []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("generating nonce: %w", err)
	}
	return s.aead.Seal(nonce, nonce, plaintext, additional), nil
}

// Open decrypts a value made by Seal with the same additional data.
func (s *Sealer) Open(sealed, additional []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errors.New("sealed value is too short: was it written with another secrets key?")
	}
	pt, err := s.aead.Open(nil, sealed[:n], sealed[n:], additional)
	if err != nil {
		return nil, errors.New("cannot decrypt secret: the secrets key does not match the one it was sealed with")
	}
	return pt, nil
}
