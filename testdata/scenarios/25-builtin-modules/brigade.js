const util = require("util");
const path = require("path");
const EventEmitter = require("events");

console.log(util.format("%s has %d jobs: %j", "pipeline", 2, ["a", "b"]));
console.log(path.join("/var/vcs", ".brigade", "../src/", "app.js"), path.extname("brigade.ts"), path.basename("/a/b/c.txt", ".txt"));
const e = new EventEmitter();
e.once("ping", (x) => console.log("ping", x));
e.emit("ping", 1);
e.emit("ping", 2);
console.log("env:", JSON.stringify(process.env));
console.log(Buffer.from("aGVsbG8=", "base64").toString());
try {
  require("child_process");
} catch (err) {
  console.log("require failed:", err.code, err.message);
}
