package core

// SafeName reports whether an event id, job name or container name may
// name the folders, files and containers a substrate makes for it: 1 to
// 253 letters, digits, '_', '.' and '-', starting with a letter or a digit.
// (A loop, not a regexp: compiling one at init cost every start of the
// binary, and every event starts it.)
func SafeName(name string) bool {
	if len(name) == 0 || len(name) > 253 {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}
