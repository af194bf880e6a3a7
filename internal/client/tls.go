package client

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ParseCertificates reads the PEM "CERTIFICATE" blocks of b.
func ParseCertificates(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing a certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return out, nil
}

// WithServerCert trusts the server certificates in pemCerts (the server's
// own, as it hands it to its workers): a server that presents one of them
// is accepted whatever name it was reached by; any other is verified as
// usual, against the system's roots and the address's host name. Bad PEM
// trusts nothing extra, and no certificate at all (a server without TLS)
// leaves the client as it is. Apply it after WithHTTPClient, as
// WithInsecureTLS.
func WithServerCert(pemCerts []byte) Option {
	return func(c *Client) {
		pinned, _ := ParseCertificates(pemCerts)
		if len(pinned) == 0 {
			return // verification as usual: nothing is pinned
		}
		c.changeTLS(func(tc *tls.Config) {
			// The standard verification is replaced by verifyPinned, which
			// does it itself for certificates other than the pinned ones.
			tc.InsecureSkipVerify = true //nolint:gosec // verified in VerifyConnection
			tc.VerifyConnection = func(cs tls.ConnectionState) error { return verifyPinned(cs, pinned) }
		})
	}
}

func verifyPinned(cs tls.ConnectionState, pinned []*x509.Certificate) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the server presented no certificate")
	}
	leaf := cs.PeerCertificates[0]
	for _, p := range pinned {
		if bytes.Equal(leaf.Raw, p.Raw) {
			return nil
		}
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{DNSName: cs.ServerName, Intermediates: inter})
	return err
}
