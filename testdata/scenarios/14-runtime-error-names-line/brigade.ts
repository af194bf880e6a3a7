import { events } from "@brigadecore/brigadier";

interface Thing {
  name: string;
}

function describe(t: Thing): string {
  return t.name.toUpperCase();
}

events.on("brigade.sh/cli", "exec", async () => {
  const things: any = undefined;
  return describe(things.first);
});

events.process();
