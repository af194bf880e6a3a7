export interface Step {
  name: string;
  command: string[];
}

export function greeting(project?: string): string {
  return `Hello from ${project ?? "nowhere"}`;
}
