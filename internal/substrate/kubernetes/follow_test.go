package kubernetes

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/brigadeplatform/brigade/internal/core"
)

// A log read again from the second of the latest line had yields each
// line once, though lines of stdout and stderr come in the file out of
// their timestamps' order.
func TestLogCursorRereadSkipsWhatItHad(t *testing.T) {
	type line struct {
		ms   int // timestamp, in milliseconds
		name string
	}
	// The log file, in its order: err-1 was stamped before out-2 but
	// written after it.
	file := []line{{100, "out-1"}, {1200, "out-2"}, {1100, "err-1"}, {1300, "err-2"},
		{2100, "out-3"}, {2100, "out-4"}, {2050, "err-3"}, {3000, "out-5"}}
	at := func(ms int) time.Time {
		return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(ms) * time.Millisecond)
	}
	c := newLogCursor()
	var got []string
	// read reads the file as the API does from the cursor's since, up to
	// (not including) its line cut, if any.
	read := func(cut int) {
		c.reread()
		since, ok := c.since()
		for i, l := range file {
			if i == cut {
				return
			}
			if ok && at(l.ms).Before(since) {
				continue
			}
			if c.take(at(l.ms)) {
				got = append(got, l.name)
			}
		}
	}
	read(3)  // the stream breaks after err-1, the latest had stamped 1.2 s
	read(6)  // again from second 1, which out-2 and err-1 begin: breaks after out-4
	read(-1) // again from second 2, to the end
	want := []string{"out-1", "out-2", "err-1", "err-2", "out-3", "out-4", "err-3", "out-5"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("took %v, want %v", got, want)
	}
	// Before any line, a reading starts at the beginning.
	if _, ok := newLogCursor().since(); ok {
		t.Error("a fresh cursor has a since")
	}
}

func TestReadLines(t *testing.T) {
	// A line of 2.5 times maxLine (as the kubelet joins the pieces
	// containerd wrote) comes whole, in pieces; so does one that ends
	// exactly at a piece's end, without an empty line after it.
	long := strings.Repeat("x", maxLine*5/2)
	exact := strings.Repeat("y", maxLine*2)
	in := "a\r\nb\n" + long + "\n" + exact + "\nlast without newline"
	type piece struct {
		s    string
		cont bool
	}
	var got []piece
	if err := readLines(strings.NewReader(in), true, func(l string, cont bool) { got = append(got, piece{l, cont}) }); err != nil {
		t.Fatal(err)
	}
	want := []piece{{"a", false}, {"b", false},
		{long[:maxLine], false}, {long[maxLine : 2*maxLine], true}, {long[2*maxLine:], true},
		{exact[:maxLine], false}, {exact[maxLine:], true},
		{"last without newline", false}}
	if len(got) != len(want) {
		t.Fatalf("got %d pieces, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("piece %d is %d bytes (cont %v), want %d bytes (cont %v)", i, len(got[i].s), got[i].cont, len(want[i].s), want[i].cont)
		}
	}
}

// A followed reading leaves a last line without a newline to the next
// reading, which brings it whole.
func TestReadLinesLeavesAnUnfinishedLine(t *testing.T) {
	var got []string
	if err := readLines(strings.NewReader("one\ntwo\nthr"), false, func(l string, _ bool) { got = append(got, l) }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "one|two" {
		t.Errorf("got %q, want one and two only", got)
	}
}

// A reading that breaks mid-line (a followed stream cut once its
// container ended, a dropped connection) hands over no piece of the cut
// line: the cursor would count it as the whole line and the next reading
// would skip the rest.
func TestReadLinesDropsALineCutByAnError(t *testing.T) {
	cut := errors.New("stream cut")
	r := io.MultiReader(strings.NewReader("2026-01-01T00:00:00.000000001Z 1\n2026-01-01T00:00:00.0000"),
		iotest.ErrReader(cut))
	var got []string
	err := readLines(r, true, func(l string, cont bool) { got = append(got, l) })
	if !errors.Is(err, cut) {
		t.Errorf("readLines returned %v, want the reader's error", err)
	}
	if len(got) != 1 || got[0] != "2026-01-01T00:00:00.000000001Z 1" {
		t.Errorf("got %q, want only the whole first line", got)
	}
}

func TestSplitTimestamp(t *testing.T) {
	ts, msg := splitTimestamp("2026-01-02T03:04:05.123456789Z hello world")
	if msg != "hello world" || ts.Nanosecond() != 123456789 || ts.Day() != 2 {
		t.Errorf("got %v %q", ts, msg)
	}
	if _, msg := splitTimestamp("no stamp here"); msg != "no stamp here" {
		t.Errorf("a line without a stamp became %q", msg)
	}
}

func TestOutcome(t *testing.T) {
	fresh := func() *workload { return &workload{containers: []string{"main", "side"}} }
	pod := func(phase corev1.PodPhase, code int32, reason string) *corev1.Pod {
		p := &corev1.Pod{Status: corev1.PodStatus{Phase: phase}}
		if phase == corev1.PodSucceeded || phase == corev1.PodFailed {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason},
			}}}
		}
		return p
	}
	cases := []struct {
		name  string
		pod   *corev1.Pod
		gone  bool
		stop  bool
		ended bool
		phase core.WorkerPhase
		code  int
	}{
		{"running", pod(corev1.PodRunning, 0, ""), false, false, false, "", 0},
		{"succeeded", pod(corev1.PodSucceeded, 0, "Completed"), false, false, true, core.PhaseSucceeded, 0},
		{"failed", pod(corev1.PodFailed, 3, "Error"), false, false, true, core.PhaseFailed, 3},
		{"oom", pod(corev1.PodFailed, 137, "OOMKilled"), false, false, true, core.PhaseFailed, 137},
		{"deleted by someone", nil, true, false, true, core.PhaseFailed, -1},
		{"stopped and gone", nil, true, true, true, core.PhaseAborted, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := fresh()
			w.stopped = tc.stop
			st, ended := outcome(tc.pod, tc.gone, w)
			if ended != tc.ended || (ended && (st.Phase != tc.phase || st.ExitCode != tc.code)) {
				t.Errorf("got ended=%v %+v; want ended=%v %s exit code %d", ended, st, tc.ended, tc.phase, tc.code)
			}
			if ended && st.Reason == "" {
				t.Error("no reason")
			}
		})
	}
	// Being deleted, not by Stop: wait until it is gone.
	w := fresh()
	p := pod(corev1.PodRunning, 0, "")
	p.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	if _, ended := outcome(p, false, w); ended {
		t.Error("a pod still being deleted counts as ended")
	}
	// The primary ended 3 while a sidecar ran on: the pod, deleted to end
	// the sidecar, is waited for, and once gone the job ends as its
	// primary did.
	w = fresh()
	p = pod(corev1.PodRunning, 0, "")
	p.Status.ContainerStatuses = []corev1.ContainerStatus{
		{Name: "main", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error"}}},
		{Name: "side", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	if _, ended := outcome(p, false, w); ended {
		t.Error("a pod whose sidecar runs counts as ended")
	}
	p.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	if _, ended := outcome(p, false, w); ended {
		t.Error("a pod whose sidecars are being ended counts as ended")
	}
	if st, ended := outcome(nil, true, w); !ended || st.Phase != core.PhaseFailed || st.ExitCode != 3 {
		t.Errorf("once the pod is gone: ended=%v %+v, want FAILED with the primary's exit code 3", ended, st)
	}
	if st, _ := outcome(pod(corev1.PodFailed, 137, "OOMKilled"), false, w); !strings.Contains(st.Reason, "OOMKilled") {
		t.Errorf("reason %q does not say OOMKilled", st.Reason)
	}
	// A command the runtime could not start: the kubelet's message says
	// which (as containerd and runc put it), and so must the reason.
	p = pod(corev1.PodFailed, 128, "StartError")
	p.Status.ContainerStatuses[0].State.Terminated.Message = `failed to create containerd task: exec: "no-such-cmd": executable file not found in $PATH: unknown`
	if st, _ := outcome(p, false, w); !strings.Contains(st.Reason, "StartError") || !strings.Contains(st.Reason, `"no-such-cmd": executable file not found`) {
		t.Errorf("reason %q does not say the command was not found", st.Reason)
	}
}
