package pgtest

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Meter measures what code costs the database, for benchmarks: round trips
// and transactions (counted by a tracer on the pool), WAL written, the CPU
// time of the server's processes when the server runs on this machine as
// this user (read from /proc; otherwise not reported), and this process's
// CPU time (the client's side: pgx, and whatever else the benchmark runs).
type Meter struct {
	pool          *pgxpool.Pool
	trips, xacts  atomic.Int64
	postmasterPID int
}

// Reading is a Meter's counts at one moment.
type Reading struct {
	Trips, Xacts int64
	WAL          int64         // bytes
	CPU          time.Duration // the server's processes; -1 unknown
	ClientCPU    time.Duration // this process
}

// MeteredPool is PoolConfig with a Meter counting on the pool.
func MeteredPool(t testing.TB, configure func(*pgxpool.Config)) (*pgxpool.Pool, *Meter) {
	t.Helper()
	m := &Meter{}
	m.pool = PoolConfig(t, func(c *pgxpool.Config) {
		c.ConnConfig.Tracer = (*meterTracer)(m)
		if configure != nil {
			configure(c)
		}
	})
	var pid int
	if err := m.raw(context.Background(), "SELECT pg_backend_pid()", &pid); err == nil {
		m.postmasterPID = parentPID(pid)
	}
	return m.pool, m
}

// raw runs a one-value query that the meter does not count.
func (m *Meter) raw(ctx context.Context, sql string, dst *int) error {
	c, err := m.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	res, err := c.Conn().PgConn().Exec(ctx, sql).ReadAll()
	if err != nil {
		return err
	}
	*dst, err = strconv.Atoi(string(res[0].Rows[0][0]))
	return err
}

// Read returns the counts now.
func (m *Meter) Read(t testing.TB) Reading {
	t.Helper()
	r := Reading{Trips: m.trips.Load(), Xacts: m.xacts.Load(), CPU: -1, ClientCPU: processCPU()}
	var wal int
	if err := m.raw(context.Background(), "SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint", &wal); err != nil {
		t.Fatal(err)
	}
	r.WAL = int64(wal)
	if m.postmasterPID > 0 {
		r.CPU = treeCPU(m.postmasterPID)
	}
	return r
}

// Report reports the costs per operation since start: round trips and
// transactions, WAL bytes, and the server's and this process's CPU in
// microseconds.
func (m *Meter) Report(b *testing.B, start Reading, ops int) {
	b.Helper()
	end := m.Read(b)
	n := float64(ops)
	b.ReportMetric(float64(end.Trips-start.Trips)/n, "trips/op")
	b.ReportMetric(float64(end.Xacts-start.Xacts)/n, "xacts/op")
	b.ReportMetric(float64(end.WAL-start.WAL)/n, "WAL-B/op")
	if start.CPU >= 0 && end.CPU >= 0 {
		b.ReportMetric(float64((end.CPU-start.CPU).Microseconds())/n, "pg-cpu-us/op")
	}
	b.ReportMetric(float64((end.ClientCPU-start.ClientCPU).Microseconds())/n, "client-cpu-us/op")
}

// meterTracer counts every statement (a round trip: pgx sends each alone,
// BEGIN and COMMIT included) and every one that leaves the connection
// outside a transaction (the end of a transaction, explicit or not).
type meterTracer Meter

func (m *meterTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (m *meterTracer) TraceQueryEnd(_ context.Context, c *pgx.Conn, _ pgx.TraceQueryEndData) {
	m.trips.Add(1)
	if c.PgConn().TxStatus() == 'I' {
		m.xacts.Add(1)
	}
}

func (m *meterTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (m *meterTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (m *meterTracer) TraceBatchEnd(_ context.Context, c *pgx.Conn, _ pgx.TraceBatchEndData) {
	m.trips.Add(1)
	if c.PgConn().TxStatus() == 'I' {
		m.xacts.Add(1)
	}
}

// processCPU is this process's user and system time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// parentPID is the parent of a process (a backend's is the postmaster), or
// 0 if /proc does not say.
func parentPID(pid int) int {
	f := procStat(pid)
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// procStat returns the fields of /proc/pid/stat after the command name.
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// treeCPU is the CPU time of the postmaster, its live children and its
// children that ended (their time is added to the postmaster's when it
// reaps them).
func treeCPU(postmaster int) time.Duration {
	ticks := func(f []string, from, to int) int64 {
		var n int64
		for i := from; i <= to && i < len(f); i++ {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			n += v
		}
		return n
	}
	// Fields after the name start at state (field 3): utime is field 14,
	// stime 15, cutime 16, cstime 17, so indexes 11..14 here.
	total := ticks(procStat(postmaster), 11, 14)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == postmaster {
			continue
		}
		if f := procStat(pid); len(f) > 14 && f[1] == strconv.Itoa(postmaster) {
			total += ticks(f, 11, 12)
		}
	}
	return time.Duration(total) * time.Second / 100 // USER_HZ
}
