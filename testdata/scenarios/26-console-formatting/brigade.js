class Point { constructor() { this.x = 1; this.y = -0; } }
console.log({ a: 1, b: "two", c: [1, 2, 3], d: { e: { f: { g: 1 } } }, "h-i": null, j: undefined });
console.log(new Point(), [new Map([["k", 1]]), new Set(["s"])], () => 1, function named() {});
console.log("%s is %d years and %o", "Bob", 42.5, { nested: true }, "extra", 7);
const circ = { name: "loop" };
circ.self = circ;
console.log(circ);
console.error(new Error("shown with stack").message);
console.log([undefined, null, "it's", 'say "hi"'], Symbol("s"), 10n);
