package exepages

import (
	"reflect"
	"strings"
	"testing"
)

// smapsOf renders mappings as /proc/<pid>/smaps does, each with the given
// Anonymous kB ("" leaves the field out).
func smapsOf(lines ...[2]string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l[0] + "\n")
		b.WriteString("Size:                  8 kB\nRss:                   8 kB\n")
		if l[1] != "" {
			b.WriteString("Anonymous:             " + l[1] + " kB\n")
		}
		b.WriteString("VmFlags: rd ex mr mw me \n")
	}
	return b.String()
}

func TestReleasableKeepsToCleanReadOnlyMappingsOfTheProgram(t *testing.T) {
	smaps := smapsOf(
		[2]string{"00400000-00a00000 r-xp 00000000 fd:01 1234 /usr/bin/brigade server", "0"},
		[2]string{"00a00000-01000000 r--p 00600000 fd:01 1234 /usr/bin/brigade server", "0"},
		[2]string{"01000000-01100000 rw-p 00c00000 fd:01 1234 /usr/bin/brigade server", "8"}, // data
		[2]string{"01100000-01200000 rw-p 00000000 00:00 0 ", "8"},                           // bss
		[2]string{"02000000-02100000 r--s 00000000 fd:01 1234 /usr/bin/brigade server", "0"}, // shared
		[2]string{"03000000-03100000 r--p 00000000 fd:01 99 /usr/lib/libc.so.6", "0"},        // another file
		[2]string{"04000000-04100000 r--p 00000000 fd:02 1234 /other/disk/same-inode", "0"},  // another disk
		[2]string{"05000000-05010000 r-xp 00000000 fd:01 1234 /usr/bin/brigade server (deleted)", "0"},
		[2]string{"06000000-06010000 r-xp 00000000 fd:01 1234 /usr/bin/brigade server", "4"}, // a breakpoint
		[2]string{"07000000-07010000 r--p 00000000 fd:01 1234 /usr/bin/brigade server", ""},  // no Anonymous field
		[2]string{"c000000000-c004000000 rw-p 00000000 00:00 0", "0"},
		[2]string{"7ffd1000-7ffd3000 r-xp 00000000 00:00 0                          [vdso]", "0"},
	)
	got, err := releasable([]byte(smaps), 0xfd, 0x01, 1234)
	if err != nil {
		t.Fatal(err)
	}
	want := []mapping{{0x400000, 0xa00000}, {0xa00000, 0x1000000}, {0x5000000, 0x5010000}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("releasable mappings %#v, want %#v (only read-only private mappings of the program's own file, without changed pages)", got, want)
	}
}

func TestReleasableRejectsABadRange(t *testing.T) {
	if _, err := releasable([]byte(smapsOf([2]string{"zz-00a00000 r-xp 00000000 fd:01 1234 /bin/x", "0"})), 0xfd, 1, 1234); err == nil {
		t.Fatal("an unreadable address range of the program's mapping was accepted")
	}
	// Lines of other files are not even parsed that far.
	if got, err := releasable([]byte(smapsOf([2]string{"zz-00a00000 r-xp 00000000 fd:01 77 /bin/y", "0"})), 0xfd, 1, 1234); err != nil || len(got) != 0 {
		t.Fatalf("another file's line: %v, %v", got, err)
	}
}
