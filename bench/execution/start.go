package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// binaries are the programs the start, throughput and RSS sections run.
type binaries struct {
	brigade string // the real brigade binary
	worker  string // what its server runs workers with: brigade-worker beside it, else brigade itself
	empty   string // `package main; func main() {}`, the start baseline
}

// build compiles the empty program and, unless brigade names one, the
// brigade binary, into dir with the `go` command on PATH.
func build(dir, brigade string) (*binaries, error) {
	b := &binaries{brigade: brigade, empty: filepath.Join(dir, "empty")}
	src := filepath.Join(dir, "empty.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		return nil, err
	}
	if err := goBuild(b.empty, src); err != nil {
		return nil, err
	}
	if b.brigade == "" {
		b.brigade = filepath.Join(dir, "brigade")
		if err := goBuild(b.brigade, "github.com/brigadeplatform/brigade/cmd/brigade"); err != nil {
			return nil, fmt.Errorf("%w (run from the module, or pass -brigade)", err)
		}
		if err := goBuild(filepath.Join(dir, "brigade-worker"), "github.com/brigadeplatform/brigade/cmd/brigade-worker"); err != nil {
			return nil, err
		}
	}
	// The server runs the lean worker binary when it lies beside it
	// (internal/server's workerCommand), as `make build` leaves them.
	b.worker = filepath.Join(filepath.Dir(b.brigade), "brigade-worker")
	if _, err := os.Stat(b.worker); err != nil {
		b.worker = ""
	}
	return b, nil
}

// goBuild builds as `make build` does: static (CGO_ENABLED=0), the binary
// users run; a cgo build also pays the dynamic loader on every start.
func goBuild(out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", pkg, err, msg)
	}
	return nil
}

// workerStart times n bare starts and exits of the worker binary (`version`:
// brigade-worker, or brigade where there is none beside it) and of the
// empty program, alternating which goes first, after a few unmeasured runs
// that bring both into the page cache.
func workerStart(b *binaries, n int) error {
	spawn := func(path string, args ...string) (time.Duration, error) {
		t0 := time.Now()
		err := exec.Command(path, args...).Run()
		return time.Since(t0), err
	}
	name, path := "brigade version", b.brigade
	if b.worker != "" {
		name, path = "brigade-worker", b.worker
	}
	brigade := func() (time.Duration, error) { return spawn(path, "version") }
	empty := func() (time.Duration, error) { return spawn(b.empty) }
	for range 3 {
		if _, err := brigade(); err != nil {
			return fmt.Errorf("%s version: %w", path, err)
		}
		if _, err := empty(); err != nil {
			return err
		}
	}
	var bt, et []time.Duration
	for i := 0; i < n; i++ {
		first, second := brigade, empty
		if i%2 == 1 {
			first, second = empty, brigade
		}
		d1, err := first()
		if err != nil {
			return err
		}
		d2, err := second()
		if err != nil {
			return err
		}
		if i%2 == 1 {
			d1, d2 = d2, d1
		}
		bt, et = append(bt, d1), append(et, d2)
	}
	sortDur(bt)
	sortDur(et)
	fmt.Printf("start: bare start + exit, %d runs of each, alternating\n", n)
	fmt.Printf("  %-18s p50 %6.2f ms   p99 %6.2f ms\n", name, ms(pct(bt, .5)), ms(pct(bt, .99)))
	fmt.Printf("  empty Go program   p50 %6.2f ms   p99 %6.2f ms\n", ms(pct(et, .5)), ms(pct(et, .99)))
	fmt.Printf("  difference         p50 %+6.2f ms   p99 %+6.2f ms (target: p50 within 3 ms)\n",
		ms(pct(bt, .5))-ms(pct(et, .5)), ms(pct(bt, .99))-ms(pct(et, .99)))
	return nil
}
