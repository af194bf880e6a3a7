export interface Config {
  app: string;
}

export function parseConfig(payload: string): Config {
  if (!payload) {
    throw new Error("the event has no payload; expected {\"app\": ...}");
  }
  return JSON.parse(payload) as Config;
}
