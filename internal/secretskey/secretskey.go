// Package secretskey finds the key that seals an install's secrets when a
// server starts, and rotates it (`brigade secrets rotate-key`).
//
// The store records the id of the key its values are sealed with
// (seal.KeyID), so a server given another key refuses to start and says
// why. A rotation, with no server running, writes the new key beside the
// old one (secrets.key.new), reseals every value and records the new id in
// one transaction, then renames the new key over the old: a crash before
// the commit leaves the old key in use and a stray file, and a crash after
// it leaves the new key beside an old file, which the next start or
// rotation notices (by its id) and moves into place.
package secretskey

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/seal"
	"github.com/brigadeplatform/brigade/internal/store/postgres"
	"github.com/brigadeplatform/brigade/internal/store/sqlite"
)

// FileName is the key file in the data dir.
const FileName = "secrets.key"

// pendingSuffix names the new key of a rotation until it is in place.
const pendingSuffix = ".new"

// settingKeyID is the setting that holds the id of the key in use.
const settingKeyID = "secrets.keyId"

// Resolve returns the key a starting server seals and opens secrets with:
// flagKey (64 hex characters) if given, else the data dir's key file,
// created on first start. It finishes an interrupted rotation, records the
// key's id in a store that has none, and refuses a key that is not the
// one the store's values are sealed with.
func Resolve(ctx context.Context, st KeyedStore, dataDir, flagKey string, log *slog.Logger) ([]byte, error) {
	return current(ctx, st, dataDir, flagKey, true, log)
}

// KeyedStore is what Resolve needs of a store (SQLite or PostgreSQL).
type KeyedStore interface {
	Settings() core.SettingStore
	// SealedCount is how many sealed values the store holds.
	SealedCount(ctx context.Context) (int, error)
}

func current(ctx context.Context, st KeyedStore, dataDir, flagKey string, create bool, log *slog.Logger) ([]byte, error) {
	path := filepath.Join(dataDir, FileName)
	var key []byte
	var err error
	switch {
	case flagKey != "":
		if key, err = seal.ParseKey(flagKey); err != nil {
			return nil, fmt.Errorf("--secrets-key: %w", err)
		}
	case create:
		key, err = seal.LoadOrCreateKey(path)
	default:
		key, err = readKey(path)
	}
	if err != nil {
		return nil, err
	}
	id := seal.KeyID(key)
	stored, ok, err := st.Settings().Get(ctx, settingKeyID)
	if err != nil {
		return nil, err
	}
	if !ok {
		if _, err := st.Settings().SetIfAbsent(ctx, settingKeyID, id); err != nil {
			return nil, err
		}
		return key, nil
	}
	if stored == id {
		if flagKey == "" {
			os.Remove(path + pendingSuffix) // a rotation that crashed before its commit
		}
		return key, nil
	}
	if flagKey == "" {
		if pending, err := readKey(path + pendingSuffix); err == nil && seal.KeyID(pending) == stored {
			if err := seal.Rename(path+pendingSuffix, path); err != nil {
				return nil, err
			}
			log.Warn("finished an interrupted rotation of the secrets key: the new key is now in place", "file", path)
			return pending, nil
		}
	}
	n, err := st.SealedCount(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 { // nothing sealed yet: any key will do
		if err := st.Settings().Set(ctx, settingKeyID, id); err != nil {
			return nil, err
		}
		return key, nil
	}
	where := "the key file " + path
	if flagKey != "" {
		where = "--secrets-key"
	}
	return nil, fmt.Errorf("%s holds the secrets key with id %s, but this store's %d sealed values were sealed with the key "+
		"with id %s: give that key (after `brigade secrets rotate-key`, the new one)", where, id, n, stored)
}

func readKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("there is no secrets key %s: give the current key with --secrets-key", path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading secrets key %s: %w", path, err)
	}
	k, err := seal.ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("reading secrets key %s: %w", path, err)
	}
	return k, nil
}

// RotateOptions say which store and keys a rotation uses.
type RotateOptions struct {
	DataDir  string // the server's data dir
	Database string // empty: brigade.db in DataDir
	// OldKey is the current key as 64 hex characters, for a server that is
	// given its key with --secrets-key; empty reads the data dir's key
	// file, which the rotation then replaces.
	OldKey string
	// NewKey is the new key as 64 hex characters; empty generates one.
	// With OldKey it must be given: there is no file to keep it in.
	NewKey string
}

// Rotate reseals every secret and job environment with a new key. No
// server may use the data dir meanwhile (it is locked). It returns the new
// key's id and how many values were resealed.
func Rotate(ctx context.Context, opts RotateOptions, log *slog.Logger) (string, int, error) {
	if opts.OldKey != "" && opts.NewKey == "" {
		return "", 0, errors.New("with --secrets-key, give the new key with --new-key too " +
			"(then start the server with --secrets-key set to it); there is no key file to write it to")
	}
	db := opts.Database
	if db == "" {
		db = filepath.Join(opts.DataDir, "brigade.db")
	}
	if postgres.IsURL(db) {
		return "", 0, errors.New("rotate-key reseals the SQLite store only: with PostgreSQL, stop every replica and " +
			"reseal with a release that supports it, or keep the current key")
	}
	if _, err := os.Stat(db); err != nil {
		return "", 0, fmt.Errorf("there is no database %s: set --data-dir (or --database) to the server's", db)
	}
	unlock, err := LockDataDir(opts.DataDir)
	if err != nil {
		return "", 0, err
	}
	defer unlock()
	st, err := sqlite.Open(ctx, db, log)
	if err != nil {
		return "", 0, fmt.Errorf("opening database %s: %w", db, err)
	}
	defer st.Close()
	oldKey, err := current(ctx, st, opts.DataDir, opts.OldKey, false, log)
	if err != nil {
		return "", 0, err
	}
	var newKey []byte
	if opts.NewKey != "" {
		if newKey, err = seal.ParseKey(opts.NewKey); err != nil {
			return "", 0, fmt.Errorf("--new-key: %w", err)
		}
	} else {
		newKey = make([]byte, seal.KeySize)
		if _, err := rand.Read(newKey); err != nil {
			return "", 0, fmt.Errorf("generating a key: %w", err)
		}
	}
	if seal.KeyID(newKey) == seal.KeyID(oldKey) {
		return "", 0, errors.New("--new-key is the current key: give another one, or leave it out to generate one")
	}
	oldS, err := seal.New(oldKey)
	if err != nil {
		return "", 0, err
	}
	newS, err := seal.New(newKey)
	if err != nil {
		return "", 0, err
	}
	path := filepath.Join(opts.DataDir, FileName)
	if opts.OldKey == "" {
		if err := seal.WriteKeyFile(path+pendingSuffix, newKey); err != nil {
			return "", 0, err
		}
	}
	n := 0
	err = st.Reseal(ctx, map[string]string{settingKeyID: seal.KeyID(newKey)}, func(kind, owner, name string, sealed []byte) ([]byte, error) {
		ad := seal.SecretAD(owner, name)
		if kind == sqlite.SealedJobEnv {
			ad = seal.JobEnvAD(owner, name)
		}
		v, err := oldS.Open(sealed, ad)
		if err != nil {
			return nil, fmt.Errorf("opening the %s %s/%s with the current key: %w; nothing was changed", kind, owner, name, err)
		}
		n++
		return newS.Seal(v, ad)
	})
	if err != nil {
		if opts.OldKey == "" {
			os.Remove(path + pendingSuffix)
		}
		return "", 0, err
	}
	if opts.OldKey == "" {
		if err := seal.Rename(path+pendingSuffix, path); err != nil {
			return "", 0, fmt.Errorf("%w; the store uses the new key already: the next start of the server moves %s into place",
				err, path+pendingSuffix)
		}
	}
	return seal.KeyID(newKey), n, nil
}
