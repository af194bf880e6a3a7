// The v1 worker ran JavaScript only; a brigade.ts importing the v1 module
// works here too (a superset).
import { events, Job } from "@azure/brigadier";

interface Greeting {
  who: string;
}

events.on("exec", async (e, p) => {
  const g: Greeting = JSON.parse(e.payload);
  const job = new Job("greet", "alpine", [`echo hello ${g.who}`]);
  await job.run();
  console.log(`greeted ${g.who} in ${p.id}`);
});
