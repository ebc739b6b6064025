#!/usr/bin/env bash
# PostgreSQL figures for BENCHMARKS.md (issue 11), all in one run on this machine:
#   ingest   wrk POSTing signed unique deliveries at 64 connections for DURATION s to
#            1 receiver on SQLite, 1 receiver on PostgreSQL, and 3 receivers on one PostgreSQL
#            database (3 wrk, 22+21+21 connections, each its own deliveries); each run REPEAT
#            times on a fresh database after a CHECKPOINT (so no run pays for an earlier one's
#            WAL), reported run by run and as the median
#   rebuild  `nexmirror rebuild` of a generated log of EVENTS deliveries on SQLite and on
#            PostgreSQL, against the limit: a pure-SQL fold inside PostgreSQL (one INSERT … SELECT
#            DISTINCT ON over the log: latest version per entity, body parsed as jsonb)
# The cluster is a throwaway one from scripts/pg with fsync ON (NEXMIRROR_PG_FSYNC=on), so a 200
# costs a real WAL flush, as the SQLite receiver's FULL sync does.
#
#   check    `nexmirror check` of that log on both backends (after the rebuilds)
#
# usage: scripts/bench.d/pg.sh [--duration 20] [--events 100000] [--shape many-entity|versions]
#                              [--bin .build/release/nexmirror] [--repeat 3] [--rebuild-only]
#   --shape         the generated log's shape (gen_log.py): many entities with ~2 versions each, as
#                   real accounts have (default), or few entities with long histories
#   --rebuild-only  skip the ingest runs (no wrk needed)
#   --ingest-only   skip the rebuild and check runs
#   --repeat        ingest runs per configuration (default 3; the median is reported)
set -euo pipefail
cd "$(dirname "$0")/../.."

duration=20
rebuild_only=0
ingest_only=0
events=100000
repeat=3
shape=many-entity
bin=.build/release/nexmirror
[ -x "$bin" ] || bin=.build/debug/nexmirror
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration=$2; shift 2 ;;
        --events) events=$2; shift 2 ;;
        --shape) shape=$2; shift 2 ;;
        --bin) bin=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        --rebuild-only) rebuild_only=1; shift ;;
        --ingest-only) ingest_only=1; shift ;;
        *) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    esac
done
tools="sqlite3 python3"
[ "$rebuild_only" = 1 ] || tools="wrk $tools"
for tool in $tools; do command -v $tool >/dev/null || { echo "pg.sh: needs $tool" >&2; exit 1; }; done

work=$(mktemp -d /tmp/nxpgbench.XXXXXX)
pids=()
cleanup() {
    stop_servers
    wait 2>/dev/null || true
    rm -rf "$work"
}
export NEXMIRROR_PG_FSYNC=on
# shellcheck source=scripts/pg
source scripts/pg
trap 'cleanup; pg_stop "$NEXMIRROR_PG_DIR"' EXIT
pg_url() { echo "postgresql:///$1?host=$NEXMIRROR_PG_DIR"; }
createdb_() { psql -X -q "$(pg_url postgres)" -c "CREATE DATABASE $1"; }

echo "binary: $bin ($(git rev-parse --short HEAD)); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
secret="bench-secret"
echo "$secret" >"$work/secret"
# Enough unique deliveries for the fastest run (SQLite, up to ~13k/s): a body sent twice would be
# a cheap duplicate and inflate the rate.
per_thread=$((duration * 20000))
python3 scripts/bench.d/gen_ingest.py "$work/data" --secret "$secret" --per-thread "$per_thread" --threads 3 >/dev/null
# post.lua's one thread (-t1) reads bodies.1.tsv in its data dir: each wrk gets its own deliveries.
for i in 1 2 3; do
    mkdir "$work/d$i"
    ln -s "$work/data/templates.lua" "$work/d$i/templates.lua"
    ln -s "$work/data/bodies.$i.tsv" "$work/d$i/bodies.1.tsv"
done

# Starts `serve` with ARGS…, waits for its port, prints it.
serve() {
    local log="$work/serve.$RANDOM.log"
    "$bin" serve --port 0 --log-level error --secret-file "$work/secret" "$@" >"$log" 2>&1 &
    # Called as $(serve …), a subshell: the pid goes to a file the caller's stop_servers reads.
    echo $! >>"$work/serve.pids"
    for _ in $(seq 300); do
        if grep -q "listening on" "$log"; then grep -o 'listening on http://[^ ]*' "$log" | sed 's/.*://' ; return; fi
        sleep 0.1
    done
    cat "$log" >&2
    return 1
}
stop_servers() {
    [ -f "$work/serve.pids" ] || return 0
    while read -r pid; do
        kill "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    done <"$work/serve.pids"
    rm -f "$work/serve.pids"
}
# wrk at CONNECTIONS on PORT with data DIR; writes its JSON summary to FILE.
load() {
    BENCH_RESULT=$4 wrk -t1 -c"$1" -d"${duration}s" --timeout 10s --latency -s scripts/bench.d/post.lua \
        "http://127.0.0.1:$2" -- "$3" >/dev/null
}
summary() { # NAME FILE… ROWS
    python3 - "$@" <<'PY'
import json, sys
name, files, rows = sys.argv[1], sys.argv[2:-1], int(sys.argv[-1])
rs = [json.load(open(f)) for f in files]
rate = sum(r["requests"] / (r["duration_us"] / 1e6) for r in rs)
ok = sum(r["ok"] for r in rs); bad = sum(r["non200"] for r in rs)
p50 = max(r["latency_us"]["p50"] for r in rs) / 1000; p99 = max(r["latency_us"]["p99"] for r in rs) / 1000
print(f"ingest {name:<28} {rate:8.0f}/s  p50 {p50:6.2f} ms  p99 {p99:7.2f} ms  200s {ok}  non-200 {bad}  rows {rows}")
PY
}

# Each run's line goes to $work/runs.NAME too; median() prints the configuration's median run.
median() { # NAME
    python3 - "$work/runs.$1" "$1" <<'PY'
import re, sys
runs = [l.rstrip("\n") for l in open(sys.argv[1])]
rates = sorted(runs, key=lambda l: float(re.search(r"\s(\d+)/s", l).group(1)))
lo, hi = (re.search(r"\s(\d+)/s", l).group(1) for l in (rates[0], rates[-1]))
print(rates[len(rates) // 2].replace("ingest ", "median ", 1) + f"  (runs {lo}-{hi}/s)")
PY
}
# How far the replica was behind the log when the load stopped, and how long the receivers took to
# fold that backlog (at most 10 min): the replica's lag at that ingest rate. Args: a command that
# runs one SQL statement and prints its single value.
catch_up() {
    local sql="SELECT (SELECT coalesce(max(seq), 0) FROM events) - (SELECT min(checkpoint) FROM projections)"
    local start behind first=""
    start=$(date +%s.%N)
    while :; do
        behind=$("$@" "$sql")
        [ -n "$first" ] || first=$behind
        [ "$behind" -le 0 ] && break
        if [ "$(echo "$(date +%s.%N) - $start > 600" | bc)" = 1 ]; then
            echo "replica $first behind at the end, still $behind behind after 600 s"; return
        fi
        sleep 0.2
    done
    printf 'replica %s behind at the end, caught up in %.1f s\n' "$first" "$(echo "$(date +%s.%N) - $start" | bc)"
}
# CPU ticks of the running receivers and of PostgreSQL's processes, and the cluster's WAL flushes
# so far; costs() turns two samples around a load into what each delivery cost and how many
# deliveries shared a WAL flush (the group commit).
ticks() { local total=0 pid; for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0))); done; echo $total; }
counters() {
    local flushes
    flushes=$(psql -X -At "$(pg_url postgres)" -c 'SELECT wal_sync FROM pg_stat_wal')
    # shellcheck disable=SC2046
    echo "$(ticks $(cat "$work/serve.pids")) $(ticks $(pgrep -u postgres)) $flushes"
}
costs() { # BEFORE AFTER POSTGRESQL(0|1) WRK-JSON…
    python3 - "$@" <<'PY'
import json, sys
a, b = ([float(x) for x in s.split()] for s in sys.argv[1:3])
rs = [json.load(open(f)) for f in sys.argv[4:]]
n = sum(r["requests"] for r in rs); secs = max(r["duration_us"] for r in rs) / 1e6
hz = 100
line = f"  per delivery: nexmirror {(b[0] - a[0]) / hz / n * 1e6:.0f} us CPU"
if sys.argv[3] == "1":
    flushes = b[2] - a[2]
    line += f", PostgreSQL {(b[1] - a[1]) / hz / n * 1e6:.0f} us CPU; WAL flushes {flushes / secs:.0f}/s, {n / max(flushes, 1):.1f} deliveries each"
print(line)
PY
}
sq() { sqlite3 "$work/ingest.sqlite" "$1"; }
pq() { psql -X -At "$(pg_url "$1")" -c "$2"; }  # DATABASE SQL
checkpoint() { psql -X -q "$(pg_url postgres)" -c CHECKPOINT; sync; }
# One PostgreSQL run of round $r: N receivers on a fresh database, the 64 connections split among
# them (22+21+21 for 3), each wrk with its own deliveries.
pg_run() { # N LABEL
    local n=$1 db="ingest$1_$r" i ports=() files=()
    createdb_ "$db"
    checkpoint
    for i in $(seq "$n"); do ports+=("$(serve --db "$(pg_url "$db")")"); done
    before=$(counters)
    for i in $(seq "$n"); do
        files+=("$work/p$n.$i.json")
        load $((64 / n + (i == 1 ? 64 % n : 0))) "${ports[$((i - 1))]}" "$work/d$i" "$work/p$n.$i.json" &
    done
    wait  # the loads (the receivers are not this shell's children)
    cost=$(costs "$before" "$(counters)" 1 "${files[@]}")
    lag=$(catch_up pq "$db")
    stop_servers
    summary "$2" "${files[@]}" "$(pq "$db" 'SELECT count(*) FROM events')" | tee -a "$work/runs.pg$n"
    echo "$cost"; echo "  $lag"
    psql -X -q "$(pg_url postgres)" -c "DROP DATABASE $db"
}
if [ "$rebuild_only" = 0 ]; then
for r in $(seq "$repeat"); do
    rm -f "$work/ingest.sqlite"*
    sync
    port=$(serve --db "$work/ingest.sqlite")
    before=$(counters)
    load 64 "$port" "$work/d1" "$work/s.json"
    cost=$(costs "$before" "$(counters)" 0 "$work/s.json")
    lag=$(catch_up sq)
    stop_servers
    summary "SQLite, 1 receiver" "$work/s.json" "$(sqlite3 "$work/ingest.sqlite" 'SELECT count(*) FROM events')" |
        tee -a "$work/runs.sqlite1"
    echo "$cost"; echo "  $lag"

    pg_run 1 "PostgreSQL, 1 receiver"
    pg_run 3 "PostgreSQL, 3 receivers"
done
echo "load after the ingest runs: $(cut -d' ' -f1-3 /proc/loadavg)"
for name in sqlite1 pg1 pg3; do median "$name"; done
fi

[ "$ingest_only" = 1 ] && exit 0

# Rebuild: one generated log, imported into both backends.
"$bin" import --db "$work/log.sqlite" /dev/null >/dev/null 2>&1 || true
python3 scripts/bench.d/gen_log.py --shape "$shape" "$work/log.sqlite" "$events" >/dev/null
createdb_ rebuild
"$bin" import --db "$(pg_url rebuild)" /dev/null >/dev/null   # migrates
# The same rows, copied column for column (`import` would append them one by one; this measures
# the rebuild, not the import). bytea travels as hex text.
sqlite3 -csv "$work/log.sqlite" "SELECT seq, received_at, action, action_id, entity_type, entity_id, updated_on,
    '\\x' || lower(hex(body)), body_sha256, source, signature, status, error FROM events ORDER BY seq" |
    psql -X -q -v ON_ERROR_STOP=1 "$(pg_url rebuild)" -c "COPY events (seq, received_at, action, action_id, entity_type,
        entity_id, updated_on, body, body_sha256, source, signature, status, error) FROM STDIN WITH (FORMAT csv)"
psql -X -q -v ON_ERROR_STOP=1 "$(pg_url rebuild)" -c "UPDATE log_head SET last_seq = (SELECT max(seq) FROM events)" -c "VACUUM ANALYZE events"
"$bin" rebuild --db "$work/log.sqlite" >/dev/null   # warm the file cache; the timed run is next
timed() { local start end; start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N); echo "$end - $start" | bc; }
# Wall seconds, with the command's peak RSS and CPU seconds (user+system) kept in $work/last.
measured() { /usr/bin/time -f "%M %U %S" -o "$work/last" "$@" >/dev/null; }
usage() { awk '{printf "peak RSS %d MiB, CPU %.2f s", $1 / 1024, $2 + $3}' "$work/last"; }
s=$(timed measured "$bin" rebuild --db "$work/log.sqlite"); su=$(usage)
p=$(timed measured "$bin" rebuild --db "$(pg_url rebuild)"); pu=$(usage)
q=$(timed psql -X -q "$(pg_url rebuild)" -v ON_ERROR_STOP=1 <<'SQL'
SET synchronous_commit = off;
CREATE TABLE fold_limit AS
SELECT DISTINCT ON (entity_type, entity_id) entity_type, entity_id AS id, seq, updated_on,
       convert_from(body, 'UTF8')::jsonb -> 0 AS data, action LIKE '%Delete%' AS deleted
FROM events WHERE status = 'ok' AND entity_id IS NOT NULL
ORDER BY entity_type, entity_id, coalesce(updated_on, CASE WHEN action LIKE '%Delete%' THEN '~' ELSE '' END) DESC,
         (action LIKE '%Delete%') DESC, seq DESC;
SQL
)
echo "rebuild log: $events deliveries, shape $shape"
rate() { python3 -c "print(f'{$events / $1:8.0f}/s')"; }
echo "rebuild $events events  SQLite $(printf %.2f "$s") s ($(rate "$s"); $su)  PostgreSQL $(printf %.2f "$p") s ($(rate "$p"); nexmirror's $pu)  pure-SQL fold in PostgreSQL $(printf %.2f "$q") s ($(rate "$q"))"
# The two rebuilt replicas must hold the same rows (`check` below also compares each with a fold).
for table in coworkers bookings invoices invoice_events teams team_members checkins proposals contracts entities tombstones; do
    a=$(sqlite3 "$work/log.sqlite" "SELECT count(*) FROM $table")
    b=$(psql -X -At "$(pg_url rebuild)" -c "SELECT count(*) FROM $table")
    [ "$a" = "$b" ] || { echo "pg.sh: $table has $a rows on SQLite but $b on PostgreSQL" >&2; exit 1; }
done
echo "replicas: the same row count in every table on both backends"
cs=$(timed "$bin" check --db "$work/log.sqlite")
cp=$(timed "$bin" check --db "$(pg_url rebuild)")
echo "check $events events  SQLite $(printf %.2f "$cs") s ($(rate "$cs"))  PostgreSQL $(printf %.2f "$cp") s ($(rate "$cp"))"
