const { events } = require("brigadier");

events.on("push", (e, p) => {
  console.log("buildID", e.buildID);
  console.log("workerID", e.workerID);
  console.log("type", e.type, "provider", e.provider);
  console.log("revision", e.revision);
  console.log("cloneURL", e.cloneURL);
  console.log("payload ref", JSON.parse(e.payload).ref);
  console.log("logLevel", e.logLevel);
  console.log("cause", e.cause);
  console.log("project", p.id, p.name, p.constructor.name);
  console.log("repo", p.repo);
  console.log("namespace", p.kubernetes.namespace, "buildStorageSize", p.kubernetes.buildStorageSize);
  console.log("secret", p.secrets.dbPassword);
  console.log("privileged allowed", p.allowPrivilegedJobs, "host mounts", p.allowHostMounts);
});
