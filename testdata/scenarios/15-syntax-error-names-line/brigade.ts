import { events } from "@brigadecore/brigadier";

const broken = {
  a: 1
  b: 2,
};

events.process();
