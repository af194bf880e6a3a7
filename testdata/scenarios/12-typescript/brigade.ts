import { events, Job, Event, Container } from "@brigadecore/brigadier";
import { greeting, Step } from "./lib/steps";

interface Options {
  image?: string;
}

class Pipeline {
  private steps: Step[] = [];
  constructor(private event: Event, private opts: Options = {}) {}
  add(step: Step): this {
    this.steps.push(step);
    return this;
  }
  async run(): Promise<number> {
    for (const step of this.steps) {
      const job = new Job(step.name, this.opts.image ?? "alpine:3", this.event);
      job.primaryContainer.command = step.command;
      job.sidecarContainers = {};
      await job.run();
    }
    return this.steps.length;
  }
}

events.on("brigade.sh/cli", "exec", async (event: Event): Promise<string> => {
  console.log(greeting(event.project?.id));
  const n = await new Pipeline(event, {}).add({ name: "lint", command: ["make", "lint"] }).add({ name: "unit", command: ["make", "test"] }).run();
  const extra: Container | undefined = undefined;
  return `ran ${n} steps${extra?.image ?? ""}`;
});

events.process();
