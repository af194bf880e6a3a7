//go:build !unix

package secretskey

// LockDataDir cannot lock on this system: a rotation relies on the
// operator having stopped the server.
func LockDataDir(dir string) (unlock func(), err error) { return func() {}, nil }
