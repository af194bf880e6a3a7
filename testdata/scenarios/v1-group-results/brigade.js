const { events, Job, Group } = require("brigadier");

events.on("exec", async () => {
  // Results come in job order, whatever order the jobs end in.
  const all = await Group.runAll([new Job("x1", "alpine"), new Job("x2", "alpine")]);
  console.log("runAll:", all.map(r => r.toString().trim()).join("|"));
  const g = new Group();
  g.add(new Job("y1", "alpine"), new Job("y2", "alpine"));
  const each = await g.runEach();
  console.log("runEach:", each.map(String).map(s => s.trim()).join("|"));
  const viaStatic = await Group.runEach([new Job("z1", "alpine")]);
  console.log("static runEach:", viaStatic.length, viaStatic[0].toString().trim());
  console.log("empty:", (await new Group().runAll()).length, (await new Group([]).runEach()).length);
});
