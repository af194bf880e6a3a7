require("brigadier");
// "@brigadecore/brigadier" is the v2 module here (the module name picks the
// dialect); one script cannot use both.
require("@brigadecore/brigadier");
console.log("not reached");
