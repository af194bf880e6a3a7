package logpump

import (
	"bufio"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func splitAll(t *testing.T, in string) []string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(in))
	sc.Buffer(make([]byte, 0, 1024), 2*MaxLineBytes)
	sc.Split(SplitLines())
	var out []string
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLineSplitter(t *testing.T) {
	exact := strings.Repeat("a", MaxLineBytes)
	long := strings.Repeat("b", MaxLineBytes+10)
	// A 3-byte rune straddles the cut: it must move whole to the next piece.
	runes := strings.Repeat("c", MaxLineBytes-1) + "€" + "d"
	cases := []struct {
		name, in string
		want     []string
	}{
		{"plain", "one\ntwo\n", []string{"one", "two"}},
		{"crlf and no final newline", "one\r\ntwo", []string{"one", "two"}},
		{"empty lines kept", "\n\nx\n", []string{"", "", "x"}},
		{"exactly the limit", exact + "\nnext\n", []string{exact, "next"}},
		{"over the limit", long + "\nnext\n", []string{long[:MaxLineBytes], long[MaxLineBytes:], "next"}},
		{"cut at a rune boundary", runes + "\n", []string{runes[:MaxLineBytes-1], "€d"}},
		{"cut exactly before the newline", exact + "b\n", []string{exact, "b"}},
		{"two limits then newline", exact + exact + "\nz\n", []string{exact, exact, "z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := splitAll(t, c.in)
			if !slices.Equal(got, c.want) {
				t.Errorf("got %d pieces %v; want %d %v", len(got), lens(got), len(c.want), lens(c.want))
			}
			for _, g := range got {
				if !utf8.ValidString(g) {
					t.Errorf("piece of %d bytes is not valid UTF-8", len(g))
				}
			}
		})
	}
}

func lens(ss []string) []int {
	out := make([]int, len(ss))
	for i, s := range ss {
		out[i] = len(s)
	}
	return out
}
