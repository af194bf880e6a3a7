package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Where --tls-self-signed keeps its certificate, in the data dir.
const (
	selfSignedCertFile = "tls.crt"
	selfSignedKeyFile  = "tls.key"
	// selfSignedValidity is how long a made certificate lasts; one with
	// less than selfSignedRenewal left is made anew at start.
	selfSignedValidity = 365 * 24 * time.Hour
	selfSignedRenewal  = 7 * 24 * time.Hour
)

// serverTLS is what the server serves TLS with.
type serverTLS struct {
	config  *tls.Config
	certPEM []byte // the chain, handed to workers
	// fingerprint is the SHA-256 of the leaf certificate, for people to
	// compare with what their client shows.
	fingerprint string
	certFile    string
}

// loadTLS reads the configured certificate, or makes (or reuses) the
// self-signed one; nil without TLS.
func loadTLS(cfg *Config) (*serverTLS, error) {
	certFile, keyFile := cfg.TLSCert, cfg.TLSKey
	if cfg.TLSSelfSigned {
		certFile = filepath.Join(cfg.DataDir, selfSignedCertFile)
		keyFile = filepath.Join(cfg.DataDir, selfSignedKeyFile)
		if err := ensureSelfSigned(certFile, keyFile, cfg.Addr, time.Now()); err != nil {
			return nil, fmt.Errorf("--tls-self-signed: %w", err)
		}
	}
	if certFile == "" {
		return nil, nil
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(pair.Certificate[0])
	return &serverTLS{
		config:      &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}},
		certPEM:     certPEM,
		fingerprint: fingerprint(sum[:]),
		certFile:    certFile,
	}, nil
}

// fingerprint formats a digest as colon-separated upper-case hex pairs,
// as browsers and openssl show it.
func fingerprint(sum []byte) string {
	h := strings.ToUpper(hex.EncodeToString(sum))
	parts := make([]string, 0, len(h)/2)
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// ensureSelfSigned keeps a usable self-signed certificate at certFile
// (key at keyFile, mode 0600) for localhost, 127.0.0.1, ::1 and the
// listen address's host: it makes one when there is none, or when the one
// there expires within selfSignedRenewal or does not name that host.
func ensureSelfSigned(certFile, keyFile, addr string, now time.Time) error {
	host, _, _ := net.SplitHostPort(addr)
	// A pair that does not load (missing, or half-written by a crash) is
	// made anew: both files are ours.
	if cur, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil {
		leaf, err := x509.ParseCertificate(cur.Certificate[0])
		if err == nil && now.Add(selfSignedRenewal).Before(leaf.NotAfter) && names(leaf, host) {
			return nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "brigade (self-signed)", Organization: []string{"brigade development"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // so that clients can trust it as its own root
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	} else if ip == nil && host != "" && host != "localhost" {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return writeFileAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// names reports whether leaf is valid for host (any name when host is
// empty or unspecified: then the loopback names are what matters).
func names(leaf *x509.Certificate, host string) bool {
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return leaf.VerifyHostname(host) == nil
}

// writeFileAtomic writes through a temporary file and a rename, so that a
// crash leaves the old file or the new one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
