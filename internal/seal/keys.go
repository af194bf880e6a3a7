package seal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// SecretAD is the additional data that binds a project secret to its
// project and key.
func SecretAD(projectID, key string) []byte { return []byte("secret/" + projectID + "/" + key) }

// JobEnvAD is the additional data that binds a job's sealed environment to
// its event and job.
func JobEnvAD(eventID, job string) []byte { return []byte("jobenv/" + eventID + "/" + job) }

// KeyID names a key without revealing it: the first 8 bytes of an HMAC of
// a fixed text under the key, in hex. The store records the id of the key
// its values are sealed with, so a server given another key says so at
// start instead of failing on the first secret it opens.
func KeyID(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("brigade secrets key id"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// WriteKeyFile replaces the key file at path atomically: the key is
// written to a temporary file beside it (mode 0600) and synced, renamed
// over path, and the folder is synced, so a crash leaves either the old
// file or the new one, never a torn one.
func WriteKeyFile(path string, key []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating folder for secrets key: %w", err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing secrets key %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, there is nothing to remove
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("writing secrets key %s: %w", path, err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("writing secrets key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing secrets key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing secrets key %s: %w", path, err)
	}
	return Rename(tmp, path)
}

// Rename moves a key file into place and syncs the folder, so the new name
// survives a crash.
func Rename(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("replacing secrets key %s: %w", to, err)
	}
	d, err := os.Open(filepath.Dir(to))
	if err != nil {
		return fmt.Errorf("syncing the folder of secrets key %s: %w", to, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing the folder of secrets key %s: %w", to, err)
	}
	return nil
}
