package js

import (
	"path"
	"strings"

	"github.com/dop251/goja"
)

// pathModule is Node's path module (POSIX flavour), built on Go's path
// package with Node's edge cases: "." for an empty result, a kept trailing
// slash in join/normalize, dirname/basename ignoring trailing slashes, and
// extname ignoring a leading dot. resolve() is relative to the config folder
// (process.cwd()).
func (s *session) pathModule() goja.Value {
	vm := s.vm
	str := func(call goja.FunctionCall, i int) string {
		v := call.Argument(i)
		if _, ok := v.Export().(string); !ok {
			panic(vm.NewTypeError("The \"path\" argument must be of type string. Received %s", describe(v)))
		}
		return v.String()
	}
	all := func(call goja.FunctionCall) []string {
		out := make([]string, len(call.Arguments))
		for i := range call.Arguments {
			out[i] = str(call, i)
		}
		return out
	}
	o := vm.NewObject()
	_ = o.Set("sep", "/")
	_ = o.Set("delimiter", ":")
	_ = o.Set("normalize", func(call goja.FunctionCall) goja.Value { return vm.ToValue(nodeNormalize(str(call, 0))) })
	_ = o.Set("join", func(call goja.FunctionCall) goja.Value {
		var parts []string
		for _, p := range all(call) {
			if p != "" {
				parts = append(parts, p)
			}
		}
		return vm.ToValue(nodeNormalize(strings.Join(parts, "/")))
	})
	_ = o.Set("resolve", func(call goja.FunctionCall) goja.Value { return vm.ToValue(s.resolvePath(all(call)...)) })
	_ = o.Set("isAbsolute", func(call goja.FunctionCall) goja.Value { return vm.ToValue(strings.HasPrefix(str(call, 0), "/")) })
	_ = o.Set("dirname", func(call goja.FunctionCall) goja.Value { return vm.ToValue(nodeDirname(str(call, 0))) })
	_ = o.Set("basename", func(call goja.FunctionCall) goja.Value {
		base := nodeBasename(str(call, 0))
		if ext := call.Argument(1); !goja.IsUndefined(ext) {
			e := ext.String()
			if e != base && strings.HasSuffix(base, e) {
				base = base[:len(base)-len(e)]
			}
		}
		return vm.ToValue(base)
	})
	_ = o.Set("extname", func(call goja.FunctionCall) goja.Value { return vm.ToValue(nodeExtname(str(call, 0))) })
	_ = o.Set("relative", func(call goja.FunctionCall) goja.Value {
		from, to := s.resolvePath(str(call, 0)), s.resolvePath(str(call, 1))
		return vm.ToValue(nodeRelative(from, to))
	})
	_ = o.Set("parse", func(call goja.FunctionCall) goja.Value {
		p := str(call, 0)
		res := vm.NewObject()
		root := ""
		if strings.HasPrefix(p, "/") {
			root = "/"
		}
		base := nodeBasename(p)
		ext := nodeExtname(base)
		dir := ""
		if strings.Contains(strings.TrimRight(p, "/"), "/") {
			dir = nodeDirname(p)
		} else if root != "" {
			dir = "/"
		}
		_ = res.Set("root", root)
		_ = res.Set("dir", dir)
		_ = res.Set("base", base)
		_ = res.Set("ext", ext)
		_ = res.Set("name", base[:len(base)-len(ext)])
		return res
	})
	_ = o.Set("format", func(call goja.FunctionCall) goja.Value {
		obj := call.Argument(0).ToObject(vm)
		get := func(k string) string {
			v := obj.Get(k)
			if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
				return ""
			}
			return v.String()
		}
		dir := get("dir")
		if dir == "" {
			dir = get("root")
		}
		base := get("base")
		if base == "" {
			base = get("name") + get("ext")
		}
		switch {
		case dir == "":
			return vm.ToValue(base)
		case dir == get("root"):
			return vm.ToValue(dir + base)
		}
		return vm.ToValue(dir + "/" + base)
	})
	_ = o.Set("posix", o)
	return o
}

func (s *session) resolvePath(parts ...string) string {
	res := ""
	for i := len(parts) - 1; i >= 0 && !strings.HasPrefix(res, "/"); i-- {
		if parts[i] == "" {
			continue
		}
		if res == "" {
			res = parts[i]
		} else {
			res = parts[i] + "/" + res
		}
	}
	if !strings.HasPrefix(res, "/") {
		res = s.opts.Dir + "/" + res
	}
	return path.Clean(res)
}

func nodeNormalize(p string) string {
	if p == "" {
		return "."
	}
	out := path.Clean(p)
	if strings.HasSuffix(p, "/") && out != "/" {
		out += "/"
	}
	return out
}

func nodeDirname(p string) string {
	if p == "" {
		return "."
	}
	t := strings.TrimRight(p, "/")
	if t == "" {
		return "/"
	}
	i := strings.LastIndexByte(t, '/')
	switch {
	case i < 0:
		return "."
	case i == 0:
		return "/"
	}
	return strings.TrimRight(t[:i], "/")
}

func nodeBasename(p string) string {
	t := strings.TrimRight(p, "/")
	if i := strings.LastIndexByte(t, '/'); i >= 0 {
		return t[i+1:]
	}
	return t
}

func nodeExtname(p string) string {
	base := nodeBasename(p)
	i := strings.LastIndexByte(base, '.')
	if i <= 0 || strings.Trim(base, ".") == "" {
		return ""
	}
	return base[i:]
}

func nodeRelative(from, to string) string {
	if from == to {
		return ""
	}
	split := func(p string) []string {
		if p == "/" {
			return nil
		}
		return strings.Split(strings.TrimPrefix(p, "/"), "/")
	}
	f, t := split(from), split(to)
	i := 0
	for i < len(f) && i < len(t) && f[i] == t[i] {
		i++
	}
	var out []string
	for range f[i:] {
		out = append(out, "..")
	}
	out = append(out, t[i:]...)
	return strings.Join(out, "/")
}
