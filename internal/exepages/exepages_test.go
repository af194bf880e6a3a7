package exepages

import (
	"reflect"
	"testing"
)

func TestReleasableKeepsToReadOnlyMappingsOfTheProgram(t *testing.T) {
	maps := `00400000-00a00000 r-xp 00000000 fd:01 1234 /usr/bin/brigade server
00a00000-01000000 r--p 00600000 fd:01 1234 /usr/bin/brigade server
01000000-01100000 rw-p 00c00000 fd:01 1234 /usr/bin/brigade server
01100000-01200000 rw-p 00000000 00:00 0 
02000000-02100000 r--s 00000000 fd:01 1234 /usr/bin/brigade server
03000000-03100000 r--p 00000000 fd:01 99 /usr/lib/libc.so.6
04000000-04100000 r--p 00000000 fd:02 1234 /other/disk/same-inode
05000000-05010000 r-xp 00000000 fd:01 1234 /usr/bin/brigade server (deleted)
c000000000-c004000000 rw-p 00000000 00:00 0
7ffd1000-7ffd3000 r-xp 00000000 00:00 0                          [vdso]
`
	got, err := releasable([]byte(maps), 0xfd, 0x01, 1234)
	if err != nil {
		t.Fatal(err)
	}
	want := []mapping{{0x400000, 0xa00000}, {0xa00000, 0x1000000}, {0x5000000, 0x5010000}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("releasable mappings %#v, want %#v (only read-only private mappings of the program's own file)", got, want)
	}
}

func TestReleasableRejectsABadRange(t *testing.T) {
	if _, err := releasable([]byte("zz-00a00000 r-xp 00000000 fd:01 1234 /bin/x\n"), 0xfd, 1, 1234); err == nil {
		t.Fatal("an unreadable address range of the program's mapping was accepted")
	}
	// Lines of other files are not even parsed that far.
	if got, err := releasable([]byte("zz-00a00000 r-xp 00000000 fd:01 77 /bin/y\n"), 0xfd, 1, 1234); err != nil || len(got) != 0 {
		t.Fatalf("another file's line: %v, %v", got, err)
	}
}
