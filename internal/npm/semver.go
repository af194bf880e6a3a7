package npm

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a semantic version as npm reads it: major.minor.patch with an
// optional prerelease; build metadata is kept for display and ignored when
// comparing.
type Version struct {
	Major, Minor, Patch uint64
	Pre                 []string // prerelease identifiers, e.g. ["beta", "2"]
	Build               string
}

// ParseVersion reads a version, allowing a leading "v" or "=" and
// surrounding spaces as npm does.
func ParseVersion(s string) (Version, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimLeft(t, "=v")
	v, rest, ok := scanVersion(t, false)
	if !ok || rest != "" || v.partial() {
		return Version{}, fmt.Errorf("%q is not a version (major.minor.patch)", s)
	}
	return v.Version, nil
}

func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if len(v.Pre) > 0 {
		s += "-" + strings.Join(v.Pre, ".")
	}
	if v.Build != "" {
		s += "+" + v.Build
	}
	return s
}

// Compare orders versions by semver precedence: -1, 0 or 1.
func (v Version) Compare(o Version) int {
	for _, d := range [][2]uint64{{v.Major, o.Major}, {v.Minor, o.Minor}, {v.Patch, o.Patch}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(v.Pre) == 0 && len(o.Pre) == 0:
		return 0
	case len(v.Pre) == 0:
		return 1 // a release is above its prereleases
	case len(o.Pre) == 0:
		return -1
	}
	for i := 0; i < len(v.Pre) && i < len(o.Pre); i++ {
		if c := comparePre(v.Pre[i], o.Pre[i]); c != 0 {
			return c
		}
	}
	return cmpInt(len(v.Pre), len(o.Pre))
}

func comparePre(a, b string) int {
	an, aerr := strconv.ParseUint(a, 10, 64)
	bn, berr := strconv.ParseUint(b, 10, 64)
	switch {
	case aerr == nil && berr == nil:
		if an == bn {
			return 0
		}
		if an < bn {
			return -1
		}
		return 1
	case aerr == nil:
		return -1 // numeric identifiers sort below alphanumeric ones
	case berr == nil:
		return 1
	}
	return strings.Compare(a, b)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// partVersion is a version whose minor or patch may be missing or a
// wildcard (x, X, *), as ranges allow: "1", "1.2", "1.x", "*".
type partVersion struct {
	Version
	parts int // how many leading numbers were given: 0..3
}

func (p partVersion) partial() bool { return p.parts < 3 }

// scanVersion reads a (maybe partial) version at the start of s and
// returns what follows it. With partial false, wildcards are refused.
func scanVersion(s string, partial bool) (partVersion, string, bool) {
	var p partVersion
	nums := []*uint64{&p.Major, &p.Minor, &p.Patch}
	i := 0
	for n := 0; n < 3; n++ {
		if n > 0 {
			if i >= len(s) || s[i] != '.' {
				break
			}
			i++
		}
		if i < len(s) && (s[i] == 'x' || s[i] == 'X' || s[i] == '*') {
			if !partial {
				return p, s, false
			}
			i++
			// a wildcard ends the numbers: "1.x.x" and "1.x" mean the same
			for i+1 < len(s) && s[i] == '.' && (s[i+1] == 'x' || s[i+1] == 'X' || s[i+1] == '*') {
				i += 2
			}
			break
		}
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i {
			return p, s, false
		}
		v, err := strconv.ParseUint(s[i:j], 10, 64)
		if err != nil || v > 1<<53-1 {
			return p, s, false
		}
		*nums[n] = v
		p.parts++
		i = j
	}
	if p.parts == 3 && i < len(s) && s[i] == '-' {
		j := i + 1
		for j < len(s) && isIdentChar(s[j]) {
			j++
		}
		if j == i+1 {
			return p, s, false
		}
		p.Pre = strings.Split(s[i+1:j], ".")
		for _, id := range p.Pre {
			if id == "" {
				return p, s, false
			}
		}
		i = j
	}
	if p.parts == 3 && i < len(s) && s[i] == '+' {
		j := i + 1
		for j < len(s) && isIdentChar(s[j]) {
			j++
		}
		p.Build = s[i+1 : j]
		i = j
	}
	if p.parts < 3 && !partial {
		return p, s, false
	}
	return p, s[i:], true
}

func isIdentChar(c byte) bool {
	return c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// comparator is one bound of a range: op is "<", "<=", ">", ">=" or "="
// ("" with any set: matches every version).
type comparator struct {
	op  string
	ver Version
	any bool
}

func (c comparator) test(v Version) bool {
	if c.any {
		return true
	}
	d := v.Compare(c.ver)
	switch c.op {
	case "<":
		return d < 0
	case "<=":
		return d <= 0
	case ">":
		return d > 0
	case ">=":
		return d >= 0
	}
	return d == 0
}

// Range is an npm version range: comparator sets joined by "||".
type Range struct {
	raw  string
	sets [][]comparator
}

func (r Range) String() string { return r.raw }

// ParseRange reads npm's range syntax: comparators (<, <=, >, >=, =),
// x-ranges (1.x, 1.2.*, *), partial versions, tilde (~1.2.3, ~>1.2),
// caret (^0.2.3), hyphen ranges (1.2 - 2.3.4), spaces for "and" and "||"
// for "or". An empty range matches every version.
func ParseRange(s string) (Range, error) {
	r := Range{raw: s}
	for _, part := range strings.Split(s, "||") {
		set, err := parseSet(strings.TrimSpace(part))
		if err != nil {
			return Range{}, fmt.Errorf("%q is not a version range: %w", s, err)
		}
		r.sets = append(r.sets, set)
	}
	return r, nil
}

func parseSet(s string) ([]comparator, error) {
	if s == "" {
		return []comparator{{any: true}}, nil
	}
	fields := strings.Fields(s)
	// hyphen range: "a - b"
	if len(fields) == 3 && fields[1] == "-" {
		lo, rest, ok := scanVersion(strings.TrimLeft(fields[0], "=v"), true)
		if !ok || rest != "" {
			return nil, fmt.Errorf("bad version %q", fields[0])
		}
		hi, rest, ok := scanVersion(strings.TrimLeft(fields[2], "=v"), true)
		if !ok || rest != "" {
			return nil, fmt.Errorf("bad version %q", fields[2])
		}
		var set []comparator
		if lo.parts > 0 {
			set = append(set, comparator{op: ">=", ver: floor(lo)})
		}
		switch {
		case hi.parts == 3:
			set = append(set, comparator{op: "<=", ver: hi.Version})
		case hi.parts > 0:
			set = append(set, comparator{op: "<", ver: bump(hi)})
		}
		if len(set) == 0 {
			set = append(set, comparator{any: true})
		}
		return set, nil
	}
	// Join an operator written apart from its version: ">= 1.2.3".
	var toks []string
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if strings.Trim(f, "<>=~^") == "" && i+1 < len(fields) {
			f += fields[i+1]
			i++
		}
		toks = append(toks, f)
	}
	var set []comparator
	for _, t := range toks {
		cs, err := parseComparator(t)
		if err != nil {
			return nil, err
		}
		set = append(set, cs...)
	}
	return set, nil
}

func parseComparator(t string) ([]comparator, error) {
	op := ""
	for _, o := range []string{"<=", ">=", "~>", "<", ">", "=", "~", "^"} {
		if strings.HasPrefix(t, o) {
			op = o
			break
		}
	}
	vs := strings.TrimLeft(strings.TrimSpace(t[len(op):]), "=v")
	p, rest, ok := scanVersion(vs, true)
	if vs == "" {
		p, rest, ok = partVersion{}, "", true
	}
	if !ok || rest != "" {
		return nil, fmt.Errorf("bad comparator %q", t)
	}
	lo := floor(p)
	switch op {
	case "~", "~>":
		if p.parts == 0 {
			return []comparator{{any: true}}, nil
		}
		hi := Version{Major: p.Major, Minor: p.Minor + 1, Pre: []string{"0"}}
		if p.parts == 1 {
			hi = Version{Major: p.Major + 1, Pre: []string{"0"}}
		}
		return []comparator{{op: ">=", ver: lo}, {op: "<", ver: hi}}, nil
	case "^":
		if p.parts == 0 {
			return []comparator{{any: true}}, nil
		}
		var hi Version
		switch {
		case p.Major > 0 || p.parts == 1:
			hi = Version{Major: p.Major + 1}
		case p.Minor > 0 || p.parts == 2:
			hi = Version{Minor: p.Minor + 1}
		default:
			hi = Version{Patch: p.Patch + 1}
		}
		hi.Pre = []string{"0"}
		return []comparator{{op: ">=", ver: lo}, {op: "<", ver: hi}}, nil
	case "", "=":
		if p.parts == 0 {
			return []comparator{{any: true}}, nil
		}
		if p.parts == 3 {
			return []comparator{{op: "=", ver: p.Version}}, nil
		}
		return []comparator{{op: ">=", ver: lo}, {op: "<", ver: bump(p)}}, nil
	case ">":
		switch p.parts {
		case 0:
			return []comparator{{op: "<", ver: Version{Pre: []string{"0"}}}}, nil // nothing
		case 3:
			return []comparator{{op: ">", ver: p.Version}}, nil
		}
		return []comparator{{op: ">=", ver: bump(p)}}, nil
	case ">=":
		if p.parts == 0 {
			return []comparator{{any: true}}, nil
		}
		return []comparator{{op: ">=", ver: lo}}, nil
	case "<":
		if p.parts == 0 {
			return []comparator{{op: "<", ver: Version{Pre: []string{"0"}}}}, nil // nothing
		}
		if p.parts == 3 {
			return []comparator{{op: "<", ver: p.Version}}, nil
		}
		return []comparator{{op: "<", ver: Version{Major: lo.Major, Minor: lo.Minor, Pre: []string{"0"}}}}, nil
	case "<=":
		switch p.parts {
		case 0:
			return []comparator{{any: true}}, nil
		case 3:
			return []comparator{{op: "<=", ver: p.Version}}, nil
		}
		return []comparator{{op: "<", ver: bump(p)}}, nil
	}
	return nil, fmt.Errorf("bad comparator %q", t)
}

// floor is the lowest version a partial version covers: 1.2 → 1.2.0.
func floor(p partVersion) Version {
	if p.parts == 3 {
		return p.Version
	}
	v := Version{Major: p.Major, Minor: p.Minor}
	if p.parts < 2 {
		v.Minor = 0
	}
	return v
}

// bump is the first version above what a partial version covers, as a
// "-0" prerelease so that the previous line's prereleases stay out:
// 1 → 2.0.0-0, 1.2 → 1.3.0-0.
func bump(p partVersion) Version {
	switch p.parts {
	case 1:
		return Version{Major: p.Major + 1, Pre: []string{"0"}}
	case 2:
		return Version{Major: p.Major, Minor: p.Minor + 1, Pre: []string{"0"}}
	}
	return Version{Major: p.Major, Minor: p.Minor, Patch: p.Patch + 1, Pre: []string{"0"}}
}

// Satisfies reports whether v is in the range. As in npm, a prerelease
// version only matches a set that names a prerelease of the same
// major.minor.patch: ^1.2.3-beta.1 matches 1.2.3-beta.2 but not 1.3.0-beta.
func (r Range) Satisfies(v Version) bool {
	for _, set := range r.sets {
		if testSet(set, v) {
			return true
		}
	}
	return false
}

func testSet(set []comparator, v Version) bool {
	for _, c := range set {
		if !c.test(v) {
			return false
		}
	}
	if len(v.Pre) == 0 {
		return true
	}
	for _, c := range set {
		if c.any || len(c.ver.Pre) == 0 {
			continue
		}
		if c.ver.Major == v.Major && c.ver.Minor == v.Minor && c.ver.Patch == v.Patch {
			return true
		}
	}
	return false
}
