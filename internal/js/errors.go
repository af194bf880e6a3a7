package js

import (
	"regexp"
	"strings"
	"sync"

	"github.com/dop251/goja"
)

// internalPrefixes name the programs this package embeds; their stack frames
// are not shown to the script's author.
var internalPrefixes = []string{"node:", "@brigadecore/", "brigadier:"}

// goja writes frames as "\tat fn (file:line:col(pc))"; the pc means nothing
// to a script author. Compiled on first use: every event starts this binary
// anew, and its init functions run on every start.
var framePC = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`:(\d+):(\d+)\(\d+\)`) })

// describeError renders a thrown or rejected value for the worker log.
//
// The worker logs a rejection reason with winston, which prints an Error's
// message only (docs/scripting.md, "Logging"). We do the same for errors raised inside
// brigadier (`Job "x" failed`), but when the error carries frames from the
// script's own files we print the stack instead ("TypeError: … at handler
// (brigade.ts:12:5)"), mapped to the original files and lines through the
// bundle's source map: a deliberate addition, so that a failing script names
// the line to fix. Non-errors are printed like console.log would.
func (s *session) describeError(v goja.Value) string {
	o, ok := v.(*goja.Object)
	if !ok || !isError(o) {
		if ok {
			return s.inspect(v)
		}
		if v == nil {
			return "undefined"
		}
		return v.String()
	}
	msg := ""
	if m := o.Get("message"); m != nil && !goja.IsUndefined(m) {
		msg = m.String()
	}
	stack := ""
	if st := o.Get("stack"); st != nil && !goja.IsUndefined(st) {
		stack = st.String()
	}
	frames := userFrames(stack)
	if len(frames) == 0 {
		if msg == "" {
			return o.String()
		}
		return msg
	}
	return o.String() + "\n    " + strings.Join(frames, "\n    ")
}

// userFrames returns the "at …" lines of a goja stack that point into the
// script's files, without goja's program counters.
func userFrames(stack string) []string {
	var out []string
	for _, line := range strings.Split(stack, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "at ") || strings.HasSuffix(line, "(native)") {
			continue
		}
		line = framePC().ReplaceAllString(line, ":$1:$2")
		loc := strings.TrimSuffix(line[3:], ")")
		if i := strings.LastIndexByte(loc, '('); i >= 0 {
			loc = loc[i+1:]
		}
		internal := false
		for _, p := range internalPrefixes {
			if strings.HasPrefix(loc, p) {
				internal = true
				break
			}
		}
		if !internal {
			out = append(out, line)
		}
	}
	return out
}

// isError reports whether o is an Error object (or inherits from one).
func isError(o *goja.Object) bool {
	for p := o; p != nil; p = p.Prototype() {
		if p.ClassName() == "Error" {
			return true
		}
	}
	return false
}

// describeStack renders a thrown or rejected value as Node's console.error
// does, which is how the v1 worker logged them (docs/scripting.md,
// "Logging"): an Error as
// "<name>: <message>" followed by the frames from the script's own files
// (mapped through the source map; brigadier's and the runtime's frames are
// left out), a string as it is, anything else as console.log would.
func (s *session) describeStack(v goja.Value) string {
	o, ok := v.(*goja.Object)
	if !ok || !isError(o) {
		if ok {
			return s.inspect(v)
		}
		if v == nil {
			return "undefined"
		}
		return v.String()
	}
	head := o.String()
	stack := ""
	if st := o.Get("stack"); st != nil && !goja.IsUndefined(st) {
		stack = st.String()
	}
	if frames := userFrames(stack); len(frames) > 0 {
		return head + "\n    " + strings.Join(frames, "\n    ")
	}
	return head
}
