#!/bin/sh
# A Brigade worker in POSIX shell: busybox's sh, sed and wget are all it
# needs. It follows the worker contract (docs/worker-contract.md): it reads
# the event document, creates one job through the API with the worker's
# token, waits for the job to end, prints the job's log, and exits 0 when
# the job succeeded (the event's worker SUCCEEDED) or 1 when it did not
# (FAILED).
set -eu

event=${BRIGADE_EVENT_FILE:-/var/event/event.json}
job=${JOB_NAME:-greet}
image=${JOB_IMAGE:-busybox:1.36}

# field NAME prints the first string field NAME of the event document (the
# server writes one field per line, and the event's own fields first).
field() {
	sed -n "s/^ *\"$1\": \"\([^\"]*\)\",\{0,1\}\$/\1/p" "$event" | head -n 1
}

id=$(field id)
api=$(field apiAddress)
token=$(field apiToken)
project=$(sed -n '/^  "project": {/,/^  }/s/^    "id": "\([^"]*\)".*/\1/p' "$event")
echo "shell worker: event $id ($(field source) $(field type)) of project $project"

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

echo "shell worker: creating job $job (image $image)"
call "/v2/events/$id/worker/jobs" '{"apiVersion":"brigade.sh/v2","kind":"Job","name":"'"$job"'",
 "spec":{"primaryContainer":{"image":"'"$image"'","imagePullPolicy":"IfNotPresent",
 "command":["sh","-c","echo Hello from a job that a shell worker created"]},"timeoutDuration":"5m"}}' >/dev/null

phase=
while :; do
	phase=$(call "/v2/events/$id/worker/jobs/$job/status" | sed -n 's/.*"phase": *"\([A-Z_]*\)".*/\1/p')
	case $phase in
	SUCCEEDED | FAILED | ABORTED | CANCELED | TIMED_OUT | SCHEDULING_FAILED) break ;;
	esac
	sleep 1
done
echo "shell worker: job $job ended $phase; its log:"
call "/v2/events/$id/logs?job=$job" | sed -n 's/.*"message": *"\(.*\)"}$/  \1/p'
[ "$phase" = SUCCEEDED ]
