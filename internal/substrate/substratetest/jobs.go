package substratetest

import (
	"strconv"
	"strings"

	"github.com/brigadeplatform/brigade/internal/core"
)

func jobCases() []testCase {
	return []testCase{
		{"Job/ExitZeroSucceeds", func(e *env) {
			ev := e.event()
			jl := e.job(ev, "succeeds", "echo hello; exit 0")
			st, lines := e.runJob(jl)
			e.expectPhase("job", st, core.PhaseSucceeded, 0)
			if st.Stopped {
				e.t.Error("a job that ended by itself reports Stopped")
			}
			e.expectLines(jobStream(jl), lines, []string{"hello"})
		}},
		{"Job/NonZeroExitFails", func(e *env) {
			ev := e.event()
			st, _ := e.runJob(e.job(ev, "fails", "echo failing; exit 3"))
			e.expectPhase("job", st, core.PhaseFailed, 3)
			if st.Reason == "" {
				e.t.Error("a failed job has no Reason")
			}
		}},
		{"Job/StdoutAndStderrInWriteOrder", func(e *env) {
			ev := e.event()
			jl := e.job(ev, "order", "echo out-1; echo err-1 >&2; echo out-2; echo err-2 >&2; printf 'out-3 no newline'")
			st, lines := e.runJob(jl)
			e.expectPhase("job", st, core.PhaseSucceeded, 0)
			want := []string{"out-1", "err-1", "out-2", "err-2", "out-3 no newline"}
			if e.h.JoinsUnterminatedLine {
				lines = unjoin(lines, "out-3 no newline")
			}
			if e.h.SeparateStderr {
				pick := func(ls []string, prefix string) []string {
					var out []string
					for _, l := range ls {
						if strings.HasPrefix(l, prefix) {
							out = append(out, l)
						}
					}
					return out
				}
				e.expectLines(jobStream(jl), pick(lines, "out-"), pick(want, "out-"))
				e.expectLines(jobStream(jl), pick(lines, "err-"), pick(want, "err-"))
			} else {
				e.expectLines(jobStream(jl), lines, want)
			}
			for i, en := range e.sink.Entries(jobStream(jl)) {
				if en.Time == nil || en.Time.IsZero() {
					e.t.Errorf("entry %d (%q) has no timestamp", i+1, en.Message)
				}
			}
		}},
		{"Job/FastWriterLosesNothing", func(e *env) {
			ev := e.event()
			const n = 200000
			jl := e.job(ev, "fast", "seq 1 "+strconv.Itoa(n))
			st, lines := e.runJob(jl)
			e.expectPhase("job", st, core.PhaseSucceeded, 0)
			if len(lines) != n {
				e.t.Errorf("got %d lines, want %d: %s", len(lines), n, abbreviate(lines))
			}
			for i, l := range lines {
				if l != strconv.Itoa(i+1) {
					e.t.Fatalf("line %d is %q, want %q (lines lost or out of order)", i+1, l, strconv.Itoa(i+1))
				}
			}
		}},
		{"Job/LongLinesArriveWhole", func(e *env) {
			ev := e.event()
			// 2^17 = 131072 characters on one line, between two short lines.
			jl := e.job(ev, "long", `s=x; i=0; while test $i -lt 17; do s="$s$s"; i=$((i+1)); done; echo before; echo "$s"; echo after`)
			st, lines := e.runJob(jl)
			e.expectPhase("job", st, core.PhaseSucceeded, 0)
			if len(lines) < 3 || lines[0] != "before" || lines[len(lines)-1] != "after" {
				e.t.Fatalf("want before, the long line (maybe split), after; got %s", abbreviate(lines))
			}
			long := strings.Join(lines[1:len(lines)-1], "")
			if len(long) != 1<<17 || strings.Trim(long, "x") != "" {
				e.t.Errorf("the long line came back as %d characters over %d entries; want %d x's",
					len(long), len(lines)-2, 1<<17)
			}
		}},
		{"Job/EnvironmentReachesJob", func(e *env) {
			ev := e.event()
			jl := e.job(ev, "env", `echo "GREETING=$GREETING"; echo "QUOTED=$QUOTED"`)
			// The spec carries redacted values; the launch carries the real ones.
			jl.Job.Spec.PrimaryContainer.Environment = map[string]string{
				"GREETING": core.Redacted, "QUOTED": core.Redacted,
			}
			jl.Environment[jl.Job.Name] = map[string]string{
				"GREETING": "hello world", "QUOTED": `a "b" $c 'd'`,
			}
			st, lines := e.runJob(jl)
			e.expectPhase("job", st, core.PhaseSucceeded, 0)
			e.expectLines(jobStream(jl), lines, []string{"GREETING=hello world", `QUOTED=a "b" $c 'd'`})
		}},
		{"Job/WorkingDirectoryReachesJob", func(e *env) {
			ev := e.event()
			jl := e.job(ev, "workdir", "pwd")
			jl.Job.Spec.PrimaryContainer.WorkingDirectory = "/tmp"
			st, lines := e.runJob(jl)
			e.expectPhase("job", st, core.PhaseSucceeded, 0)
			e.expectLines(jobStream(jl), lines, []string{"/tmp"})
		}},
		{"Job/MissingCommandFailsClearly", func(e *env) {
			ev := e.event()
			const missing = "brigade-conformance-no-such-command"
			jl := e.job(ev, "missing", "")
			jl.Job.Spec.PrimaryContainer.Command = []string{missing}
			jl.Job.Spec.PrimaryContainer.Arguments = []string{"arg"}
			_, err := e.sub.StartJob(e.ctx, jl)
			if err != nil {
				// Refusing to start is fine if the error says what is wrong.
				if !strings.Contains(err.Error(), missing) {
					e.t.Errorf("StartJob failed with %q, which does not name the missing command %q", err, missing)
				}
				return
			}
			st := e.wait(jobRef(jl), jobStream(jl))
			if st.Phase != core.PhaseFailed {
				e.t.Errorf("a job whose command does not exist ended %s; want FAILED", st.Phase)
			}
			all := st.Reason + "\n" + strings.Join(e.sink.Lines(jobStream(jl)), "\n")
			if st.Reason == "" || !strings.Contains(all, missing) {
				e.t.Errorf("neither the reason %q nor the log names the missing command %q: %s",
					st.Reason, missing, abbreviate(e.sink.Lines(jobStream(jl))))
			}
		}},
		{"Job/WaitAfterEndReturnsItsStatus", func(e *env) {
			ev := e.event()
			jl := e.job(ev, "ended", "exit 5")
			st, _ := e.runJob(jl)
			again := e.wait(jobRef(jl))
			if again.Phase != st.Phase || again.ExitCode != st.ExitCode || again.Reason != st.Reason ||
				again.Stopped != st.Stopped || !again.Ended.Equal(st.Ended) {
				e.t.Errorf("second Wait returned %+v; the first returned %+v", again, st)
			}
		}},
	}
}

// unjoin splits a line that starts with the unterminated line last from
// what was joined to it (see Harness.JoinsUnterminatedLine).
func unjoin(lines []string, last string) []string {
	var out []string
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, last); ok && rest != "" {
			out = append(out, last, rest)
			continue
		}
		out = append(out, l)
	}
	return out
}
