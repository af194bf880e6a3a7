package js

import (
	"strings"
	"testing"
)

// TestConsole checks that console.log prints as Node's util.format does
// whichever path a call takes: the native one for a lone plain string, the
// prelude's print for everything else.
func TestConsole(t *testing.T) {
	ctx := testContext(t)
	code, err, log := runScript(t, ctx, "brigade.js", `
const util = require("util");
console.log("plain");
console.log("");
console.log("naïve €uro 𝄞");
console.log("100%% sure, lone %s");
console.log("%s and %d", "text", 42);
console.log("two", "strings");
console.log(7);
console.log();
console.info("info"); console.warn("warn"); console.error("error"); console.debug("debug");
const log = console.log;
log("detached");
console.log.call(undefined, "called");
console.group("group");
console.log("inside");
console.log("two\nlines");
console.group();
console.log("deeper");
console.groupEnd();
console.groupEnd();
console.log("outside");
const bad = { [util.inspect.custom]() { throw new Error("inspect failed"); } };
try { console.log(bad); } catch (e) { console.log("caught: " + e.message); }
process.stdout.write("raw");
process.stdout.write(" write\n");
`, Options{})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v\n%s", code, err, log)
	}
	want := strings.Join([]string{
		"plain", "", "naïve €uro 𝄞", "100% sure, lone %s", "text and 42", "two strings", "7", "",
		"info", "warn", "error", "debug", "detached", "called",
		"group", "  inside", "  two", "  lines", "    deeper", "outside",
		"caught: inspect failed", "raw write", "",
	}, "\n")
	if log != want {
		t.Errorf("log:\n%s\nwant:\n%s", log, want)
	}
}

// TestConsoleExitInsideFormatting: process.exit while console.log formats
// a value ends the run with that code, through the native console.
func TestConsoleExitInsideFormatting(t *testing.T) {
	code, err, log := runScript(t, testContext(t), "brigade.js", `
const util = require("util");
console.log("before");
console.log({ [util.inspect.custom]() { process.exit(3); } });
console.log("not reached");
`, Options{})
	if err != nil || code != 3 || log != "before\n" {
		t.Fatalf("Run = %d, %v, log %q; want 3, nil, \"before\\n\"", code, err, log)
	}
}

// TestConsoleLoadsUtilOnFirstUse: the prelude loads util only when a call
// needs formatting, and then it is the module the script has: options the
// script set on it before shape what console prints, as in Node.
func TestConsoleLoadsUtilOnFirstUse(t *testing.T) {
	ctx := testContext(t)
	code, err, log := runScript(t, ctx, "brigade.js", `
console.log("plain first");
const util = require("util");
util.inspect.defaultOptions.depth = 0;
console.log({ a: { b: 1 } });
console.dir({ c: [1] });
console.trace("at %d", 1);
`, Options{})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v\n%s", code, err, log)
	}
	for _, want := range []string{"plain first\n", "{ a: [Object] }\n", "{ c: [Array] }\n", "Trace: at 1\n"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}
