// Package local is the default substrate: an event's worker and each of its
// jobs run as host processes on the server's machine.
//
// # Folders
//
// Every event gets DataDir/events/<eventID>/ holding event.json (the
// worker's event document, mode 0600), workspace/ (shared by the event's
// jobs), source/ (the event's source checkout) and pids/ (the process
// groups started for the event, see Restarts). Cleanup removes the whole
// folder from DataDir/events/: making and removing four folders costs
// ~0.8 ms of CPU per event on some file systems, so up to 64 are kept as
// spares in DataDir/events/.spare/ (no event id starts with a dot) and a
// new event's folder is a spare renamed into place, with its three
// subfolders (the worker may find source/ there, empty). Cleanup scrubs a
// folder before it keeps it: everything in it is removed but the three
// subfolders, whose contents are removed too (symlinks are removed, never
// followed; folders a job made read-only are opened up), and the four get
// back the mode of a new folder. A folder it cannot scrub (a subfolder
// that became a symlink or a file, an entry it cannot remove, another
// owner, extended attributes) is removed as before. A spare is taken only
// after a sweep (see Confinement) found no process of its event still
// running, and only if it is then still exactly three empty subfolders
// with a new folder's mode and owner; else it is removed. A new server
// removes the spares an earlier one left; Close removes its own. Outside
// Linux, where the sweep cannot look, folders are not reused.
// DataDir/cache/npm/<projectID>/ is the project's npm package
// cache (package npm): it outlives the project's events, bounded in size
// by the worker, and is not removed with the project.
//
// # Processes
//
// Each process runs in its own process group (Setpgid). Its stdout and
// stderr share one pipe, so lines keep the order they were written in; the
// pipe is read line by line (lines over 64 KiB are split, at a UTF-8
// boundary), each line is stamped with the time it was read, and lines go
// to the LogSink in batches (up to 1000 lines or 1 MiB, or every 10 ms).
// Nothing is dropped: a slow sink slows the reader, which fills the pipe,
// which blocks the writer. Wait returns only after every line is appended
// and the stream is closed.
//
// When a process ends, whatever it left in its process group is killed
// (as in a container, whose processes die with its first one). Stop
// (cancel, timeout) sends SIGTERM to every process group of the workload
// and SIGKILL after the grace period. A job's processes that left its
// groups are killed as it ends (see Confinement).
//
// The worker runs WorkerLaunch.Command in the event folder with
// BRIGADE_EVENT_FILE, BRIGADE_WORKSPACE, BRIGADE_SOURCE and
// BRIGADE_NPM_CACHE (the project's package cache) set; its log is the
// stream {EventID, Container: "worker"}.
//
// A job's primary container runs command + arguments directly (no shell);
// its log is {EventID, Job, Container: job name}. The image is not pulled:
// the log's first line says so. A container without a command relies on its
// image's entrypoint, which the local substrate cannot honour: the job fails
// at once with a reason that points at the docker substrate. A command that
// cannot be found fails the job the same way (StartJob succeeds and Wait
// reports FAILED with the reason, which the job's log repeats), so users see
// such mistakes where they see every other job failure.
//
// Sidecar containers run as sibling processes with the same rules and their
// own streams {EventID, Job, Container: sidecar name}. The job's outcome is
// the primary's; sidecars still running SidecarGrace after the primary
// ended get SIGTERM, and SIGKILL after another SidecarGrace.
//
// # Environment
//
// Workers and jobs start from the server's environment (Options.BaseEnv)
// minus every variable whose name starts with BRIGADE_ (the server's own
// settings, which may hold the root password or tokens). A job container
// then gets its own environment (JobLaunch.Environment[container name]), and
// every process gets BRIGADE_WORKSPACE and BRIGADE_SOURCE (the event's
// workspace/ and source/ folders) and PWD.
//
// # Working directory and mount paths
//
// sourceMountPath and workspaceMountPath are honoured in one of two ways:
//
//   - Bind mounts (Linux, as root with CAP_SYS_ADMIN, when the program's main
//     calls MaybeRunMountHelper first thing): the process starts in a private
//     mount namespace where each mount path is a bind mount of the event's
//     source/ or workspace/ folder, exactly as in a container. Go cannot run
//     code between fork and exec, so the substrate re-executes its own binary
//     (os.Executable) with a hidden first argument; MaybeRunMountHelper then
//     mounts, changes directory and execs the real command. A mount path
//     that does not exist on the host is created as an empty directory (with
//     any missing parents) before the first job that needs it starts, and
//     removed again, if still empty, when the last job that used it ends;
//     a server killed meanwhile leaves those empty directories behind.
//   - Folders (any other case): nothing is mounted. A working directory
//     inside a mount path becomes the matching folder of the event (e.g.
//     workingDirectory /src/app with sourceMountPath /src runs in
//     events/<id>/source/app), and scripts find the folders through
//     BRIGADE_SOURCE and BRIGADE_WORKSPACE.
//
// The working directory is, in order: the mapped location when
// workingDirectory lies inside a mount path (the mapping wins over a host
// folder of the same name, which has nothing to do with the event); else
// workingDirectory itself when it exists on the host; else the event folder,
// with a log line that says so.
//
// # Outcome
//
// ExitStatus comes from the primary process: SUCCEEDED on exit code 0,
// FAILED otherwise (a death by signal n reports exit code 128+n), ABORTED
// with Stopped set when Stop came before it ended, and FAILED with exit
// code -1 when it never ran.
//
// # Confinement
//
// A job's processes can leave its process group (setsid, a daemon's double
// fork), where neither the group kill at its end nor Stop reaches them. So
// every process of a job carries BRIGADE_LOCAL_JOB in its environment
// (inherited by whatever it starts): the substrate that started the job, the
// job's number there, its event and the data dir's events folder. When a
// job ends, stopped or not, a sweep reads each process's initial environment
// from /proc and kills (SIGKILL) every process marked by a job of this
// substrate that no longer runs, wherever it moved. Sweeps run on a goroutine
// of their own, at most one every 200 ms however many jobs end, so a job's
// start and end pay nothing for them; one that killed something looks again,
// for what was forked meanwhile. A new substrate sweeps once at start, and
// kills every process marked by a job of an earlier server on the same data
// dir (those do not outlive their server, see Close; a running server holds
// the data dir's lock, so they are a dead server's), and Close sweeps once
// more after its jobs ended.
//
// Workers are confined the same way, with a mark of their own: a worker
// started for its event has it from the start; a standby, started before
// its event was known, takes it with the rest of the launch's environment
// and hands it to whatever it starts for that event (git, npm), so those
// die with the worker wherever they moved.
//
// What is not confined: a process that replaces its environment (env -i)
// loses the mark; outside Linux there is no /proc to sweep, and only process groups are
// killed. Control groups would confine without these gaps, but are often not
// writable by the server (containers, cgroup v1 hosts); the mark needs nothing.
//
// # Isolation
//
// There is none: workers and jobs run as the server's user and can read
// what it can, event.json files (with worker tokens) and the data dir
// included. Removing BRIGADE_* variables keeps the server's settings out
// of scripts' environments, nothing more. Run untrusted scripts on the
// docker or kubernetes substrate.
//
// # Restarts
//
// Workloads are children of the server. After a restart the new server does
// not know the previous server's workloads: List returns only workloads
// started by this process, so the caller finishes work left RUNNING from
// before with a clear reason (e.g. "the server restarted while the job
// ran"). So that nothing leaks, every process group is recorded in a pid
// file under the event folder as it starts, and again as ended once it is
// gone (the worker's file is its own; the event's jobs append to one shared
// file, since creating a file per job costs more than starting its
// process on some file systems). Cleanup(eventID) kills the groups those
// files name and do not mark ended (after checking, through /proc, that
// they still are the same processes) before it removes the folder.
package local
