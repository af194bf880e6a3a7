package js

import (
	"github.com/dop251/goja"
)

// Node's Buffer, URL and URLSearchParams globals come from goja_nodejs,
// whose modules build dozens of native functions: most of what setting up
// a VM cost, for globals that few scripts use. Each is made on first use
// instead: until then its global is an accessor that builds the module,
// puts the value in its place as the data property (writable, enumerable,
// configurable) that a script would otherwise have found, and returns it.
// Assigning to it first simply sets that property. require("buffer") and
// require("url") give the same module objects.

// lazyGlobals are the globals made on first use, by module.
var lazyGlobals = []struct {
	module string
	names  []string
}{
	{"buffer", []string{"Buffer"}},
	{"url", []string{"URL", "URLSearchParams"}},
}

// installLazyGlobals defines the accessors.
func (s *session) installLazyGlobals() {
	vm := s.vm
	global := vm.GlobalObject()
	guard := s.uint8ArrayGuard()
	for _, lg := range lazyGlobals {
		for _, name := range lg.names {
			put := func(v goja.Value) {
				_ = global.DefineDataProperty(name, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
			}
			get := vm.ToValue(func(goja.FunctionCall) goja.Value {
				restore := guard()
				m, err := s.nodeRequire.Require(lg.module)
				restore()
				if err != nil {
					panic(vm.NewGoError(err)) // a JavaScript error where the global was used
				}
				v := m.ToObject(vm).Get(name)
				put(v)
				return v
			})
			set := vm.ToValue(func(call goja.FunctionCall) goja.Value {
				put(call.Argument(0))
				return goja.Undefined()
			})
			_ = global.DefineAccessorProperty(name, get, set, goja.FLAG_TRUE, goja.FLAG_TRUE)
		}
	}
}

// uint8ArrayGuard returns a function that, while a module is built, puts
// the VM's own Uint8Array back under its global name if the script has
// replaced it (goja_nodejs's Buffer extends whatever that global holds, and
// was built before any script ran); the function it returns undoes that.
// The VM's own Object functions are taken before the script runs too.
func (s *session) uint8ArrayGuard() func() func() {
	vm := s.vm
	global := vm.GlobalObject()
	object := vm.Get("Object").ToObject(vm)
	own, _ := goja.AssertFunction(object.Get("getOwnPropertyDescriptor"))
	define, _ := goja.AssertFunction(object.Get("defineProperty"))
	original := global.Get("Uint8Array")
	return func() func() {
		none := func() {}
		if own == nil || define == nil {
			return none
		}
		name := vm.ToValue("Uint8Array")
		desc, err := own(goja.Undefined(), global, name)
		if err != nil {
			return none
		}
		if d, ok := desc.(*goja.Object); ok && d.Get("value") == original {
			return none // as it was
		}
		builtin := vm.NewObject()
		_ = builtin.Set("value", original)
		_ = builtin.Set("writable", true)
		_ = builtin.Set("configurable", true)
		if _, err := define(goja.Undefined(), global, name, builtin); err != nil {
			return none // made unchangeable by the script: nothing to do
		}
		return func() {
			if goja.IsUndefined(desc) {
				_ = global.Delete("Uint8Array")
				return
			}
			_, _ = define(goja.Undefined(), global, name, desc)
		}
	}
}
