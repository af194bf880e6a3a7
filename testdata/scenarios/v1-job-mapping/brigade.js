const { events, Job } = require("brigadier");

events.on("exec", async (e, p) => {
  const j = new Job("full", "golang:1.22", ["go version", "go test ./..."], true);
  j.shell = "/bin/bash";
  j.args = ["-v"];
  j.env = { PLAIN: "x", EMPTY: null, NUM: 42, POD_IP: { fieldRef: { fieldPath: "status.podIP" } } };
  j.timeout = 1500; // milliseconds
  j.mountPath = "/go/src/app";
  j.storage.enabled = true;
  j.cache.enabled = true;
  j.cache.size = "1Gi";
  j.host.name = "virtual-kubelet";
  j.host.os = "linux";
  j.host.nodeSelector.set("disktype", "ssd");
  j.resourceRequests.cpu = "500m";
  j.resourceRequests.memory = "128Mi";
  j.resourceLimits.memory = "1Gi";
  j.privileged = true;
  j.serviceAccount = "builder";
  j.docker.enabled = true;
  await j.run();

  await new Job("defaults", "alpine").run();

  const o = new Job("other-shell", "alpine", ["echo a", "false", "echo b"]);
  o.shell = "/usr/bin/zsh"; // neither sh nor bash: no -e (v1 added set -e for those two only)
  o.useSource = false;
  o.host.nodeSelector = { pool: "batch" };
  o.cache.enabled = true;
  o.cache.path = "/root/.cache";
  o.storage.path = "/unused"; // storage is not enabled
  o.timeout = 0; // v1 waited 60000 ms for a zero timeout
  await o.run();
});
