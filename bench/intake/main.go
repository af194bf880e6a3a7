// Command intake measures event intake: concurrent clients POST /v2/events
// over loopback HTTP to a real brigade server on a fresh SQLite data dir,
// and the harness prints durable events/s and latency percentiles next to
// the raw SQLite insert rate of the same machine, measured in the same run.
//
//	go run ./bench/intake -n 5000 -c 32
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sqlite "modernc.org/sqlite"

	"github.com/brigadeplatform/brigade/bench/internal/pgschema"
	"github.com/brigadeplatform/brigade/internal/metrics"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/store/postgres"
)

func main() {
	n := flag.Int("n", 5000, "events to send")
	c := flag.Int("c", 32, "concurrent clients")
	projects := flag.Int("projects", 1, "projects subscribed to the events (each event fans out to all)")
	raw := flag.Int("raw", 2000, "rows for the raw insert baseline (SQLite, or PostgreSQL with -database)")
	database := flag.String("database", "", "postgres://... to measure the server on PostgreSQL (a fresh schema, dropped after) instead of SQLite")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the POST phase (server and clients: one process) to this file")
	traceFile := flag.String("trace", "", "write an execution trace of the POST phase to this file (go tool trace)")
	memprofile := flag.String("memprofile", "", "write an allocation profile of the POST phase to this file")
	flag.Parse()
	if err := run(*n, *c, *projects, *raw, *database, *cpuprofile, *traceFile, *memprofile); err != nil {
		fmt.Fprintln(os.Stderr, "intake:", err)
		os.Exit(1)
	}
}

func run(n, c, projects, rawRows int, database, cpuprofile, traceFile, memprofile string) error {
	dir, err := os.MkdirTemp("", "brigade-intake-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	storeURL := ""
	if database != "" {
		if !postgres.IsURL(database) {
			return fmt.Errorf("-database %q: give a postgres:// URL (without it, the server uses SQLite)", database)
		}
		u, drop, err := pgschema.Fresh(ctx, database, "bench_intake")
		if err != nil {
			return err
		}
		defer drop()
		storeURL = u
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(ctx, server.Config{Substrate: "none", Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"),
		Database: storeURL, RootPassword: "bench-password"}, log, io.Discard)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	base := "http://" + srv.Addr()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}}
	token, err := login(client, base)
	if err != nil {
		return err
	}
	for i := 0; i < projects; i++ {
		body := fmt.Sprintf(`{"apiVersion":"brigade.sh/v2","kind":"Project","metadata":{"id":"bench-%d"},
			"spec":{"eventSubscriptions":[{"source":"bench.example.com","types":["*"]}],"workerTemplate":{}}}`, i)
		if _, err := post(client, base+"/v2/projects", token, []byte(body), http.StatusCreated); err != nil {
			return err
		}
	}
	// The baseline runs once the store is open, so that its commits sync
	// with the same system call as the store's (the switch between fsync
	// and fdatasync is process-wide).
	rawRate, rawWhat := 0.0, ""
	if storeURL != "" {
		rawRate, err = pgschema.RawInsertRate(ctx, database, rawRows)
		rawWhat = "raw PostgreSQL    %8.0f rows/s (one transaction per row, one connection; same database, same run)\n"
	} else {
		rawRate, err = rawInsertRate(filepath.Join(dir, "raw.db"), rawRows)
		sync := "fsync"
		if sqlite.FdatasyncEnabled() {
			sync = "fdatasync"
		}
		rawWhat = "raw SQLite insert %8.0f rows/s (one transaction per row, each synced with " + sync + " as the store's; same machine, same run)\n"
	}
	if err != nil {
		return fmt.Errorf("raw insert baseline: %w", err)
	}
	event := []byte(`{"apiVersion":"brigade.sh/v2","kind":"Event","source":"bench.example.com","type":"push",
		"qualifiers":{},"labels":{"env":"bench"},"payload":"{\"ref\":\"refs/heads/main\"}"}`)

	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failures atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	if traceFile != "" {
		f, err := os.Create(traceFile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return err
		}
	}
	if memprofile != "" {
		runtime.MemProfileRate = 64 << 10
		runtime.GC() // forget what setting up allocated
	}
	commits0, txs0 := commits(client, base)
	cpu0 := cpuTime()
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				if _, err := post(client, base+"/v2/events", token, event, http.StatusCreated); err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	commits1, txs1 := commits(client, base)
	if cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if traceFile != "" {
		trace.Stop()
	}
	if memprofile != "" {
		f, err := os.Create(memprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
	}
	cancel()
	<-done

	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[int(float64(len(lat)-1)*p)] }
	rate := float64(n) / elapsed.Seconds()
	store := "SQLite"
	if storeURL != "" {
		store = "PostgreSQL"
	}
	fmt.Printf("intake: %d events (%d project(s) each), %d clients, %s, on %s\n", n, projects, c, elapsed.Round(time.Millisecond), store)
	fmt.Printf("  POST /v2/events   %8.0f events/s   p50 %6.2f ms   p99 %6.2f ms   max %6.2f ms   failures %d\n",
		rate, ms(pct(0.50)), ms(pct(0.99)), ms(lat[len(lat)-1]), failures.Load())
	fmt.Printf("  CPU               %8.0f µs/event (server and clients: one process; %.0f%% of %d cores)\n",
		float64(cpu.Microseconds())/float64(n), 100*cpu.Seconds()/elapsed.Seconds()/float64(runtime.NumCPU()), runtime.NumCPU())
	if commits1 > commits0 {
		fmt.Printf("  commits           %8.0f (%.1f transactions each, %.2f per event; the audit log's batches included)\n",
			commits1-commits0, (txs1-txs0)/(commits1-commits0), (commits1-commits0)/float64(n))
	}
	fmt.Printf("  "+rawWhat, rawRate)
	fmt.Printf("  ratio             %8.2fx the raw one-row-per-commit rate\n", rate/rawRate)
	if f := failures.Load(); f > 0 {
		return fmt.Errorf("%d requests failed; first: %v", f, firstErr.Load())
	}
	return nil
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// commits reads the store's group commits so far, and the transactions
// they held, from the server's /metrics (zeros if it cannot).
func commits(client *http.Client, base string) (n, txs float64) {
	page, err := metrics.Fetch(context.Background(), client, base+"/metrics")
	if err != nil {
		return 0, 0
	}
	count, sum, _ := page.Histogram(metrics.Namespace + "_store_commit_transactions")
	return float64(count), sum
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func login(client *http.Client, base string) (string, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/v2/sessions?root=true", nil)
	req.SetBasicAuth("root", "bench-password")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct{ Value string }
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("login failed: %d %v", resp.StatusCode, err)
	}
	return tok.Value, nil
}

func post(client *http.Client, url, token string, body []byte, want int) ([]byte, error) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	return b, nil
}

// rawInsertRate is the baseline: one INSERT per committed, synced
// transaction on a bare connection with the store's pragmas.
func rawInsertRate(path string, rows int) (float64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, project TEXT, doc TEXT)`); err != nil {
		return 0, err
	}
	doc := `{"source":"bench.example.com","type":"push","payload":"{\"ref\":\"refs/heads/main\"}"}`
	start := time.Now()
	for i := 0; i < rows; i++ {
		if _, err := db.Exec(`INSERT INTO t (project, doc) VALUES (?, ?)`, "bench-0", doc); err != nil {
			return 0, err
		}
	}
	return float64(rows) / time.Since(start).Seconds(), nil
}
