package js

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

const inlineMapPrefix = "\n//# sourceMappingURL=data:application/json;base64,"

// adjustSourceMap rewrites the bundle's inline source map for goja, which
// looks positions up with 1-based columns in a map whose columns are
// 0-based (and prints the original columns as they are stored). Shifting
// every generated and original column by one makes lookups exact and the
// columns in stack traces 1-based, as Node prints them. firstLine is how
// many characters were put in front of the bundle's first line (the
// CommonJS wrapper). If the map cannot be read, the code is returned as is
// (positions are then approximate, never wrong by more than a column).
func adjustSourceMap(code string, firstLine int) string {
	i := strings.LastIndex(code, inlineMapPrefix)
	if i < 0 {
		return code
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(code[i+len(inlineMapPrefix):]))
	if err != nil {
		return code
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return code
	}
	mappings, ok := m["mappings"].(string)
	if !ok {
		return code
	}
	m["mappings"] = shiftMappings(mappings, firstLine)
	out, err := json.Marshal(m)
	if err != nil {
		return code
	}
	return code[:i] + inlineMapPrefix + base64.StdEncoding.EncodeToString(out) + "\n"
}

// shiftMappings adds 1 (plus firstLine on line 1) to every generated column
// and 1 to every original column. Both are delta-encoded: the generated
// column restarts from 0 on each line, so only each line's first segment
// changes; the original column runs across the whole map, so only the first
// segment that has one changes.
func shiftMappings(s string, firstLine int) string {
	lines := strings.Split(s, ";")
	origDone := false
	for li, line := range lines {
		if line == "" {
			continue
		}
		segs := strings.Split(line, ",")
		for si, seg := range segs {
			if si > 0 && origDone {
				break
			}
			f := decodeVLQ(seg)
			if len(f) == 0 {
				return s // malformed: leave the map alone
			}
			if si == 0 {
				f[0]++
				if li == 0 {
					f[0] += firstLine
				}
			}
			if !origDone && len(f) >= 4 {
				f[3]++
				origDone = true
			}
			segs[si] = encodeVLQ(f)
		}
		lines[li] = strings.Join(segs, ",")
	}
	return strings.Join(lines, ";")
}

const vlqChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func decodeVLQ(seg string) []int {
	var out []int
	value, shift := 0, 0
	for i := 0; i < len(seg); i++ {
		d := strings.IndexByte(vlqChars, seg[i])
		if d < 0 {
			return nil
		}
		value += (d & 31) << shift
		if d&32 != 0 {
			shift += 5
			continue
		}
		if value&1 != 0 {
			out = append(out, -(value >> 1))
		} else {
			out = append(out, value>>1)
		}
		value, shift = 0, 0
	}
	if shift != 0 {
		return nil
	}
	return out
}

func encodeVLQ(fields []int) string {
	var b strings.Builder
	for _, v := range fields {
		u := v << 1
		if v < 0 {
			u = (-v << 1) | 1
		}
		for {
			d := u & 31
			u >>= 5
			if u != 0 {
				d |= 32
			}
			b.WriteByte(vlqChars[d])
			if u == 0 {
				break
			}
		}
	}
	return b.String()
}
