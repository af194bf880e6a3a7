#!/bin/sh
# A declarative Brigade worker: the project lists steps in the config file
# steps.yaml (the worker template's defaultConfigFiles), and this worker
# runs each step as a job, one after another, through the API
# (docs/worker-contract.md). The first step that fails ends the run: the
# worker exits 1 and the event's worker is FAILED; when every step
# succeeded it exits 0 (SUCCEEDED).
#
# steps.yaml is a small subset of YAML:
#
#   steps:
#   - name: build               # the job's name: a-z, 0-9 and -
#     image: busybox:1.36       # optional: $STEP_IMAGE by default
#     run: echo building        # a line of sh, run with sh -c
#
# When the worker template sets useWorkspace, every step sees the event's
# workspace at /workspace.
set -eu

event=${BRIGADE_EVENT_FILE:-/var/event/event.json}

# field NAME prints the first string field NAME of the event document (the
# server writes one field per line, and the event's own fields first).
field() {
	sed -n "s/^ *\"$1\": \"\([^\"]*\)\",\{0,1\}\$/\1/p" "$event" | head -n 1
}

id=$(field id)
api=$(field apiAddress)
token=$(field apiToken)

# call PATH [BODY]: GET PATH from the API, or POST BODY to it, as the
# event's worker.
call() {
	if [ $# -gt 1 ]; then
		wget -q -O - --header "Authorization: Bearer $token" \
			--header "Content-Type: application/json" --post-data "$2" "$api$1"
	else
		wget -q -O - --header "Authorization: Bearer $token" "$api$1"
	fi
}

# stepsFile prints steps.yaml: a JSON string in the event document, decoded.
stepsFile() {
	sed -n 's/^ *"steps\.yaml": "\(.*\)",\{0,1\}$/\1/p' "$event" | head -n 1 | awk '{
		s = $0
		out = ""
		while ((i = index(s, "\\")) > 0) {
			out = out substr(s, 1, i - 1)
			c = substr(s, i + 1, 1)
			n = 2
			if (c == "n") c = "\n"
			else if (c == "t") c = "\t"
			else if (c == "u") {
				code = substr(s, i + 2, 4)
				c = code == "0026" ? "&" : code == "003c" ? "<" : code == "003e" ? ">" : "?"
				n = 6
			}
			out = out c
			s = substr(s, i + n)
		}
		printf "%s\n", out s
	}'
}

# steps prints one line per step: name, image and command, tab-separated.
steps() {
	stepsFile | awk -v image="${STEP_IMAGE:-busybox:1.36}" '
	function value(line) {
		sub(/^[^:]*:[ \t]*/, "", line)
		if (line ~ /^".*"$/ || line ~ /^'"'"'.*'"'"'$/) line = substr(line, 2, length(line) - 2)
		return line
	}
	function emit() { if (name != "") printf "%s\t%s\t%s\n", name, img, run }
	/^[ \t]*-[ \t]*name:/ { emit(); name = value($0); img = image; run = ""; next }
	/^[ \t]*image:/ { img = value($0); next }
	/^[ \t]*run:/ { run = value($0); next }
	END { emit() }'
}

# json STRING prints STRING as the inside of a JSON string.
json() {
	printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'
}

mount=
if grep -q '^    "useWorkspace": true' "$event"; then
	mount=',"workspaceMountPath":"/workspace"'
fi

n=0
tab=$(printf '\t')
steps >/tmp/steps
if [ ! -s /tmp/steps ]; then
	echo "steps worker: no steps: add steps.yaml to the worker template's defaultConfigFiles"
	exit 1
fi
while IFS=$tab read -r name image run; do
	n=$((n + 1))
	echo "steps worker: step $n: $name"
	call "/v2/events/$id/worker/jobs" '{"apiVersion":"brigade.sh/v2","kind":"Job","name":"'"$name"'",
	 "spec":{"primaryContainer":{"image":"'"$(json "$image")"'","imagePullPolicy":"IfNotPresent",
	 "command":["sh","-c","'"$(json "$run")"'"]'"$mount"'},"timeoutDuration":"10m"}}' >/dev/null
	while :; do
		phase=$(call "/v2/events/$id/worker/jobs/$name/status" | sed -n 's/.*"phase": *"\([A-Z_]*\)".*/\1/p')
		case $phase in
		SUCCEEDED | FAILED | ABORTED | CANCELED | TIMED_OUT | SCHEDULING_FAILED) break ;;
		esac
		sleep 1
	done
	call "/v2/events/$id/logs?job=$name" | sed -n 's/.*"message": *"\(.*\)"}$/  \1/p'
	if [ "$phase" != SUCCEEDED ]; then
		echo "steps worker: step $name ended $phase: stopping here"
		exit 1
	fi
done </tmp/steps
echo "steps worker: all $n steps succeeded"
