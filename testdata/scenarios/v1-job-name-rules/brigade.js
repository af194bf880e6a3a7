const { Job } = require("brigadier");

// v1 checks names in the constructor, which throws at once.
function tryName(n) {
  try {
    const j = new Job(n, "alpine");
    console.log(`ok ${JSON.stringify(n)} -> ${j.name}`);
  } catch (err) {
    console.log(`threw ${JSON.stringify(n)}: ${err instanceof Error} ${err.message}`);
  }
}
["a", "1st-job", "build.test", "a..b", "x".repeat(36), "x".repeat(37), "Build", "-lead", "trail-", "under_score", "", "dot."].forEach(tryName);
new Job("Upper", "alpine");
console.log("not reached");
