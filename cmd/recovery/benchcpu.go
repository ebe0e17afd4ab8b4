package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// cpuSample is CPU time spent so far by this process (API, relay, worker,
// the embedded Temporal server and the bench's own clients) and by the
// machine's Postgres processes.
type cpuSample struct{ self, postgres time.Duration }

// cpuNow samples both. Postgres backends that exited since the last
// sample take their time with them; the bench keeps its connections open.
func cpuNow() cpuSample {
	var ru syscall.Rusage
	var s cpuSample
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	s.postgres = postgresCPU()
	return s
}

func (s cpuSample) sub(o cpuSample) cpuSample {
	return cpuSample{self: s.self - o.self, postgres: s.postgres - o.postgres}
}

// clockTick is the unit of /proc/PID/stat's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// postgresCPU adds up the user and system time of every process named
// postgres (/proc/PID/stat fields 14 and 15); 0 where there is no /proc.
func postgresCPU() time.Duration {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var total time.Duration
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		open, close := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
		if open < 0 || close < open || string(b[open+1:close]) != "postgres" {
			continue
		}
		fields := strings.Fields(string(b[close+1:]))
		if len(fields) < 13 { // fields[0] is the state, field 3 of the line
			continue
		}
		ut, _ := strconv.ParseInt(fields[11], 10, 64)
		st, _ := strconv.ParseInt(fields[12], 10, 64)
		total += time.Duration(ut+st) * clockTick
	}
	return total
}

// dbBytes is the size of our database and of the cluster's others
// (Temporal's: its store and its visibility store), from pg_database_size.
func dbBytes(ctx context.Context, pool *pgxpool.Pool) (ours, temporal int64, err error) {
	rows, err := pool.Query(ctx, `SELECT datname = current_database(), pg_database_size(datname) FROM pg_database
		WHERE NOT datistemplate AND datname <> 'postgres'`)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var mine bool
		var n int64
		if err := rows.Scan(&mine, &n); err != nil {
			return 0, 0, err
		}
		if mine {
			ours += n
		} else {
			temporal += n
		}
	}
	return ours, temporal, rows.Err()
}

// dbCommits is how many transactions our database and the cluster's
// others (Temporal's) have committed (pg_stat_database; backends report
// within a second or so).
func dbCommits(ctx context.Context, pool *pgxpool.Pool) (ours, temporal int64, err error) {
	err = pool.QueryRow(ctx, `SELECT coalesce(sum(xact_commit) FILTER (WHERE datname = current_database()), 0),
		coalesce(sum(xact_commit) FILTER (WHERE datname <> current_database()), 0)
		FROM pg_stat_database WHERE datname IS NOT NULL AND datname NOT IN ('postgres', 'template0', 'template1')`).Scan(&ours, &temporal)
	return ours, temporal, err
}
