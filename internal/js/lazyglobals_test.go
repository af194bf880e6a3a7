package js

import (
	"strings"
	"testing"
)

// TestLazyGlobals: Buffer, URL and URLSearchParams, made on first use,
// behave as the globals they were: the same objects as require() gives,
// data properties once used, replaceable before use, and a Buffer that
// extends the real Uint8Array even when the script replaced that global.
func TestLazyGlobals(t *testing.T) {
	ctx := testContext(t)
	code, err, log := runScript(t, ctx, "brigade.js", `
const names = ["Buffer", "URL", "URLSearchParams"];
console.log(names.map(n => typeof globalThis[n]).join(" "));
console.log(names.every(n => Object.keys(globalThis).includes(n)));
console.log(require("buffer").Buffer === Buffer, require("url").URL === URL, require("url").URLSearchParams === URLSearchParams);
console.log(names.map(n => JSON.stringify(Object.getOwnPropertyDescriptor(globalThis, n), (k, v) => k === "value" ? typeof v : v)).join(" "));
console.log(Buffer.from("aGk=", "base64").toString(), new URL("https://x.example/p?q=1").searchParams.get("q"));
`, Options{})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v\n%s", code, err, log)
	}
	desc := `{"value":"function","writable":true,"enumerable":true,"configurable":true}`
	want := strings.Join([]string{"function function function", "true", "true true true",
		desc + " " + desc + " " + desc, "hi 1", ""}, "\n")
	if log != want {
		t.Errorf("log:\n%s\nwant:\n%s", log, want)
	}

	code, err, log = runScript(t, ctx, "brigade.js", `
URL = "mine";
console.log(URL, JSON.stringify(Object.getOwnPropertyDescriptor(globalThis, "URL")));
const real = Uint8Array;
globalThis.Uint8Array = function Fake() {};
const b = Buffer.from("ab");
console.log(b instanceof real, b.length, Uint8Array.name);
delete globalThis.Uint8Array;
console.log(typeof Uint8Array, typeof URLSearchParams);
`, Options{})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v\n%s", code, err, log)
	}
	want = strings.Join([]string{`mine {"value":"mine","writable":true,"enumerable":true,"configurable":true}`,
		"true 2 Fake", "undefined function", ""}, "\n")
	if log != want {
		t.Errorf("log:\n%s\nwant:\n%s", log, want)
	}
}
