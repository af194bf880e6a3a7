package exepages

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// written is initialised data: it lives in the program file's writable
// mapping, and the test changes it, so dropping that mapping would lose
// the change (the page would be read from the file again).
var written = [3 * 4096]byte{0: 1, 3*4096 - 1: 1}

// programMappings returns this test binary's releasable mappings.
func programMappings(t *testing.T) []mapping {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		t.Fatal(err)
	}
	smaps, err := readSmaps()
	if err != nil {
		t.Fatal(err)
	}
	ms, err := releasable(smaps, unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), st.Ino)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatalf("no read-only mapping of the test binary in:\n%s", smaps)
	}
	return ms
}

// filler is 512 KiB of read-only data in the test binary that nothing but
// this test reads.
//
//go:embed testdata/filler.txt
var filler string

// readSink keeps the reads of the filler from being optimised away.
var readSink byte

// mappedPages counts the pages of [start, end) mapped into this process
// (bit 63 of their /proc/self/pagemap entries).
func mappedPages(t *testing.T, start, end uintptr) (mapped, all int) {
	t.Helper()
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ps := uintptr(os.Getpagesize())
	buf := make([]byte, 8*((end-start)/ps))
	if _, err := f.ReadAt(buf, int64(start/ps*8)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(buf); i += 8 {
		if binary.LittleEndian.Uint64(buf[i:])&(1<<63) != 0 {
			mapped++
		}
	}
	return mapped, len(buf) / 8
}

func TestReleaseDropsTheProgramsReadOnlyPagesAndKeepsItsData(t *testing.T) {
	written[4096] = 7
	// The filler's pages away from its ends: the kernel maps a file's
	// pages up to 64 KiB around the one used, so code or data next to
	// the filler could map its ends again.
	const window = 64 << 10
	lo := (uintptr(unsafe.Pointer(unsafe.StringData(filler))) + 2*window) &^ (window - 1)
	hi := (uintptr(unsafe.Pointer(unsafe.StringData(filler))) + uintptr(len(filler)) - window) &^ (window - 1)
	for i := 0; i < len(filler); i += 4096 {
		readSink += filler[i]
	}
	if mapped, all := mappedPages(t, lo, hi); all < 16 || mapped != all {
		t.Fatalf("%d of %d pages of the filler mapped after reading all of it (want at least 16, all of them)", mapped, all)
	}
	ms := programMappings(t)
	var total int64
	in := false
	for _, m := range ms {
		total += int64(m.end - m.start)
		in = in || m.start <= lo && hi <= m.end
	}
	if !in {
		t.Fatalf("the filler (%#x-%#x) is in none of the releasable mappings %#v", lo, hi, ms)
	}

	released, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	if released != total {
		t.Fatalf("Release covered %d bytes, the program's read-only mappings are %d", released, total)
	}
	if mapped, all := mappedPages(t, lo, hi); mapped != 0 {
		t.Fatalf("%d of %d pages of the filler still mapped after Release", mapped, all)
	}
	// The data is still the file's, and reading it maps it again.
	const line = "exepages: a page of the program file that only this test reads\n"
	for _, i := range []int{int(lo - uintptr(unsafe.Pointer(unsafe.StringData(filler)))), len(filler) / 2} {
		if filler[i] != line[i%len(line)] {
			t.Fatalf("byte %d of the filler reads %q after Release, want %q", i, filler[i], line[i%len(line)])
		}
	}
	if written[0] != 1 || written[4096] != 7 || written[len(written)-1] != 1 {
		t.Fatalf("initialised data changed by Release: %d %d %d, want 1 7 1", written[0], written[4096], written[len(written)-1])
	}
}

func TestReleaseWhileCodeRuns(t *testing.T) {
	want := sha256.Sum256(bytes.Repeat([]byte("brigade"), 1<<12))
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if got := sha256.Sum256(bytes.Repeat([]byte("brigade"), 1<<12)); got != want {
					errs <- fmt.Errorf("sha256 %x, want %x", got, want)
					return
				}
			}
		})
	}
	for range 20 {
		if _, err := Release(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// A read-only page of the program that holds a change (as a debugger's
// breakpoint does) keeps it: its mapping is not released. The change
// stays in the process for good, so the test runs in a child process.
func TestReleaseKeepsAChangedCodePage(t *testing.T) {
	if os.Getenv("EXEPAGES_CHANGED_PAGE_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestReleaseKeepsAChangedCodePage$", "-test.v")
		cmd.Env = append(os.Environ(), "EXEPAGES_CHANGED_PAGE_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS: TestReleaseKeepsAChangedCodePage")) {
			t.Fatalf("the child process: %v\n%s", err, out)
		}
		return
	}
	ps := uintptr(os.Getpagesize())
	base := uintptr(unsafe.Pointer(unsafe.StringData(filler)))
	page := (base + uintptr(len(filler))/2) &^ (ps - 1)
	// Write one byte the way a debugger does: the kernel gives this
	// process a private copy of the page.
	mem := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(filler)), page-base)), ps)
	if err := unix.Mprotect(mem, unix.PROT_READ|unix.PROT_WRITE); err != nil {
		t.Fatal(err)
	}
	old := mem[0]
	mem[0] = old ^ 0xff
	if err := unix.Mprotect(mem, unix.PROT_READ); err != nil {
		t.Fatal(err)
	}
	for _, m := range programMappings(t) {
		if m.start <= page && page < m.end {
			t.Fatalf("the mapping %#x-%#x holds a changed page and is releasable", m.start, m.end)
		}
	}
	if _, err := Release(); err != nil {
		t.Fatal(err)
	}
	if mem[0] != old^0xff {
		t.Fatalf("the changed byte reads %#x after Release, want %#x: the private copy was dropped", mem[0], old^0xff)
	}
}
