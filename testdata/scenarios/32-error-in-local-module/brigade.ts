import { events } from "@brigadecore/brigadier";
import { parseConfig } from "./lib/config";

events.on("brigade.sh/cli", "exec", async event => {
  const cfg = parseConfig(event.payload);
  return `deploying ${cfg.app}`;
});

events.process();
