package redact

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	const secret = "s3cr3t?>value" // '?' and '>' make the std and URL base64 forms differ
	r := New([]string{secret, "abc", "line-one\r\nline-two\n"})
	cases := map[string]string{
		"plain " + secret + " end":      "plain *** end",
		secret + secret:                 "******",
		"no secret here":                "no secret here",
		"":                              "",
		"abc is too short to be masked": "abc is too short to be masked",
		"a line-one and line-two":       "a *** and ***",
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		cases["b64 "+enc.EncodeToString([]byte(secret))+"|"] = "b64 ***|"
	}
	for in, want := range cases {
		got, changed := r.String(in)
		if got != want || changed != (in != want) {
			t.Errorf("String(%q) = %q, %v; want %q", in, got, changed, want)
		}
	}
}

func TestPaddedFormIsMaskedWhole(t *testing.T) {
	v := "12345" // base64 MTIzNDU= : the unpadded form is a prefix of the padded one
	got, _ := New([]string{v}).String("x " + base64.StdEncoding.EncodeToString([]byte(v)) + " y")
	if got != "x *** y" {
		t.Fatalf("got %q", got)
	}
}

func TestNothingToRedact(t *testing.T) {
	if r := New([]string{"", "ab", "xyz"}); r != nil {
		t.Fatalf("values shorter than %d bytes made a redactor", MinLen)
	}
	var r *Redactor
	if s, changed := r.String("anything"); s != "anything" || changed {
		t.Fatal("the nil redactor changed a line")
	}
}

func TestManySecretsNoAllocationWithoutMatch(t *testing.T) {
	var vals []string
	for i := range 200 {
		vals = append(vals, strings.Repeat(string(rune('A'+i%26)), 8)+string(rune('a'+i%26)))
	}
	r := New(vals)
	line := strings.Repeat("the quick brown fox jumps over the lazy dog ", 3)
	if n := testing.AllocsPerRun(100, func() { r.String(line) }); n != 0 {
		t.Fatalf("%v allocations per line without a secret", n)
	}
	if got, _ := r.String("x" + vals[57] + "y"); got != "x***y" {
		t.Fatalf("got %q", got)
	}
}

func BenchmarkString(b *testing.B) {
	r := New([]string{"hunter2-password", "ghp_0123456789abcdefghij", "another-secret-value", "-----BEGIN KEY-----\nMIIBOgIBAAJBAK\n-----END KEY-----"})
	line := strings.Repeat("2026-12-02T05:40:00.000Z INFO: compiling package foo/bar with flags -O2 ", 2)
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		r.String(line)
	}
}
