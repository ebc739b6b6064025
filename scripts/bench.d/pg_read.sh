#!/usr/bin/env bash
# Long reads on PostgreSQL for BENCHMARKS.md: peak RSS and wall time of `export bookings`,
# `query 'SELECT * FROM bookings ORDER BY id'` and `events --limit 0` (CSV, to a file) on a
# generated bookings-heavy log, for one or more binaries (e.g. before and after a change), with
# SQLite's figures beside them and the ratio to them. Every binary's output must be
# byte-identical, and PostgreSQL's must equal SQLite's: the script stops when one differs.
# Each read runs once to warm the caches, then REPEAT times (default 3; the median is shown).
# Beside them, `psql` copying the same SELECT out (COPY … TO STDOUT, CSV): what PostgreSQL itself
# takes to produce and send the rows, the floor for any client of the server.
# PostgreSQL's shared_buffers is SIZE (default 128MB, PostgreSQL's own default); SQLite reads
# through the kernel's page cache, which holds its whole file, so `--shared-buffers 1GB` compares
# the two with what they read in memory.
#
# The log is made by gen_log.py --shape bookings in a SQLite file, copied into PostgreSQL with
# COPY as pg.sh does, and folded by `nexmirror rebuild` on each backend.
#
# usage: scripts/bench.d/pg_read.sh [--events 200000] [--repeat 3] [--shared-buffers SIZE] [BINARY…]   (default: the debug binary)
set -euo pipefail
cd "$(dirname "$0")/../.."

events=200000
repeat=3
while [ $# -gt 0 ]; do
    case "$1" in
        --events) events=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        --shared-buffers) export NEXMIRROR_PG_SHARED_BUFFERS=$2; shift 2 ;;
        *) break ;;
    esac
done
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=(.build/debug/nexmirror)
for tool in sqlite3 python3 psql /usr/bin/time; do command -v $tool >/dev/null || { echo "pg_read.sh: needs $tool" >&2; exit 1; }; done

work=$(mktemp -d /tmp/nxpgread.XXXXXX)
# shellcheck source=scripts/pg
source scripts/pg
# Output goes to memory: 186 MB written to a disk file per run left the kernel writing it back
# during the next runs, which moved SQLite's `query` from 0.39 s to 0.60 s between two runs.
out=$(mktemp -p /dev/shm nxpgread.XXXXXX 2>/dev/null || mktemp -p "$work")
trap 'rm -rf "$work" "$out"; pg_stop "$NEXMIRROR_PG_DIR"' EXIT
pg=postgresql:///bench?host=$NEXMIRROR_PG_DIR
psql -X -q "postgresql:///postgres?host=$NEXMIRROR_PG_DIR" -c "CREATE DATABASE bench"

bin=${bins[0]}
"$bin" import --db "$work/log.sqlite" /dev/null >/dev/null   # migrates
python3 scripts/bench.d/gen_log.py --shape bookings "$work/log.sqlite" "$events" >/dev/null
"$bin" import --db "$pg" /dev/null >/dev/null
sqlite3 -csv "$work/log.sqlite" "SELECT seq, received_at, action, action_id, entity_type, entity_id, updated_on,
    '\\x' || lower(hex(body)), body_sha256, source, signature, status, error FROM events ORDER BY seq" |
    psql -X -q -v ON_ERROR_STOP=1 "$pg" -c "COPY events (seq, received_at, action, action_id, entity_type,
        entity_id, updated_on, body, body_sha256, source, signature, status, error) FROM STDIN WITH (FORMAT csv)"
psql -X -q -v ON_ERROR_STOP=1 "$pg" -c "UPDATE log_head SET last_seq = (SELECT max(seq) FROM events)" -c "VACUUM ANALYZE events"
"$bin" rebuild --db "$work/log.sqlite" >/dev/null
"$bin" rebuild --db "$pg" >/dev/null
echo "log: $events deliveries (gen_log.py --shape bookings), $(sqlite3 "$work/log.sqlite" 'SELECT count(*) FROM bookings') bookings;" \
    "$(nproc) cores; shared_buffers $(psql -X -At "$pg" -c 'SHOW shared_buffers'); load $(cut -d' ' -f1-3 /proc/loadavg)"

# Runs one read REPEAT times, prints "peak MiB, median wall s, bytes, md5" of it; the median wall
# time is kept in $work/wall and the md5 in $work/md5.
measure() {
    local i walls=() peak wall
    for i in $(seq "$repeat"); do
        /usr/bin/time -o "$work/time" -f '%M %e' "$@" >"$out"
        read -r peak wall <"$work/time"
        walls+=("$wall")
    done
    wall=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(( (repeat + 1) / 2 ))p")
    echo "$wall" >"$work/wall"
    md5sum <"$out" | cut -c1-12 >"$work/md5"
    echo "$(printf '%7d MiB  %6.2f s' $((peak / 1024)) "$wall")  (runs ${walls[*]})  $(stat -c %s "$out") bytes  $(cat "$work/md5")"
}
for what in "export bookings" "query SELECT * FROM bookings ORDER BY id" "events --limit 0"; do
    # The SELECT each read runs on PostgreSQL (export's from TableReport, events' from EventFilter).
    case "${what%% *}" in
        export) args=(export bookings)
            select="SELECT id, resource_id, resource_name, coworker_id, (data::json ->> 'CoworkerFullName') AS coworker_name,
                from_time, to_time, tentative, online, invoiced, created_on, updated_on
                FROM bookings ORDER BY from_time COLLATE \"C\", id" ;;
        query) args=(query --format csv "${what#query }"); select=${what#query } ;;
        events) args=(events --limit 0 --format csv)
            select="SELECT seq, received_at, action, entity_type, entity_id, updated_on, status, error, source,
                length(body) AS bytes FROM events ORDER BY seq" ;;
    esac
    "$bin" "${args[@]}" --db "$work/log.sqlite" >/dev/null   # warm the file cache
    echo "$what    (load $(cut -d' ' -f1-3 /proc/loadavg))"
    echo "  SQLite      $bin: $(measure "$bin" "${args[@]}" --db "$work/log.sqlite")"
    sqlite_wall=$(cat "$work/wall") sqlite_md5=$(cat "$work/md5")
    for b in "${bins[@]}"; do
        "$b" "${args[@]}" --db "$pg" >/dev/null
        line=$(measure "$b" "${args[@]}" --db "$pg")
        echo "  PostgreSQL  $b: $line  $(python3 -c "print(f'{$(cat "$work/wall") / max($sqlite_wall, 0.01):.2f}x SQLite')")"
        [ "$(cat "$work/md5")" = "$sqlite_md5" ] || { echo "pg_read.sh: $b's output of $what on PostgreSQL differs from SQLite's" >&2; exit 1; }
    done
    psql -X -q "$pg" -c "COPY ($select) TO STDOUT WITH (FORMAT csv)" >/dev/null
    line=$(measure psql -X -q "$pg" -c "COPY ($select) TO STDOUT WITH (FORMAT csv)")
    echo "  psql COPY   (the server's floor): ${line%%  (runs*}  (runs${line#*(runs}" | sed 's/  [0-9]* bytes .*//'
done
