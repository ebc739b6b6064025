#!/usr/bin/env bash
# Erasure figures for BENCHMARKS.md: `nexmirror forget` of one coworker on a generated log of
# EVENTS deliveries (shape many-entity: a real account's, ~2 versions per entity), on SQLite and,
# with --pg, on PostgreSQL (the same rows copied in as pg.sh does). For each: wall time, peak RSS,
# what it rewrote, the database's size before and after, and the bytes the process wrote
# (getrusage's block output, 512-byte units) — to show that one subject does not rewrite the file.
# The subject is the coworker named by the most bookings; a second, typical one (median) too.
#
# usage: scripts/bench.d/forget.sh [--events 1000000] [--bin .build/release/nexmirror] [--pg]
set -euo pipefail
cd "$(dirname "$0")/../.."

events=1000000
bin=.build/release/nexmirror
pg=0
while [ $# -gt 0 ]; do
    case "$1" in
        --events) events=$2; shift 2 ;;
        --bin) bin=$2; shift 2 ;;
        --pg) pg=1; shift ;;
        *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    esac
done
for tool in sqlite3 python3 /usr/bin/time bc; do command -v $tool >/dev/null || { echo "forget.sh: needs $tool" >&2; exit 1; }; done

work=$(mktemp -d /tmp/nxforget.XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
echo "binary: $bin ($("$bin" --version)); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $events deliveries"

db=$work/log.sqlite
"$bin" import --db "$db" /dev/null >/dev/null 2>&1   # creates and migrates it
python3 scripts/bench.d/gen_log.py --shape many-entity "$db" "$events" >/dev/null
"$bin" rebuild --db "$db" >/dev/null
# The most-referenced coworker, and one with the median number of bookings.
read -r top median < <(sqlite3 "$db" "
    WITH refs AS (SELECT json_extract(body, '\$[0].CoworkerId') AS id, count(*) AS n FROM events
                  WHERE entity_type = 'Booking' GROUP BY 1 ORDER BY 2)
    SELECT (SELECT id FROM refs ORDER BY n DESC LIMIT 1) || ' ' ||
           (SELECT id FROM refs LIMIT 1 OFFSET (SELECT count(*) / 2 FROM refs))")

size() { stat -c %s "$1" 2>/dev/null || echo 0; }
run() {  # label, --db value, subject; prints one line
    local label=$1 target=$2 subject=$3 before after start end
    before=$(( $(size "$db") + $(size "$db-wal") ))
    start=$(date +%s.%N)
    /usr/bin/time -f "%M %O" -o "$work/usage" "$bin" forget coworker "$subject" --db "$target" --reason bench >"$work/out"
    end=$(date +%s.%N)
    after=$(( $(size "$db") + $(size "$db-wal") ))
    read -r rss blocks <"$work/usage"
    printf '%-10s %-9s %6.2f s  peak RSS %4d MiB  wrote %7.1f MiB  file %s -> %s MiB  %s\n' \
        "$label" "$subject" "$(echo "$end - $start" | bc)" $((rss / 1024)) "$(echo "$blocks * 512 / 1048576" | bc -l)" \
        "$(echo "$before / 1048576" | bc)" "$(echo "$after / 1048576" | bc)" "$(head -1 "$work/out" | sed 's/^coworker [0-9]*: //')"
}
echo "before: $("$bin" check --db "$db" | tail -1)"
run sqlite "$db" "$top"
run sqlite "$db" "$median"
"$bin" check --db "$db" | tail -12 || true
cp "$db" /tmp/forget-bench-after.sqlite 2>/dev/null || true

[ "$pg" = 1 ] || exit 0
export NEXMIRROR_PG_FSYNC=on
# shellcheck source=scripts/pg
source scripts/pg
trap 'cleanup; pg_stop "$NEXMIRROR_PG_DIR"' EXIT
url="postgresql:///forget?host=$NEXMIRROR_PG_DIR"
psql -X -q "postgresql:///postgres?host=$NEXMIRROR_PG_DIR" -c "CREATE DATABASE forget"
"$bin" import --db "$url" /dev/null >/dev/null
fresh=$work/fresh.sqlite
"$bin" import --db "$fresh" /dev/null >/dev/null 2>&1
python3 scripts/bench.d/gen_log.py --shape many-entity "$fresh" "$events" >/dev/null
sqlite3 -csv "$fresh" "SELECT seq, received_at, action, action_id, entity_type, entity_id, updated_on,
    '\\x' || lower(hex(body)), body_sha256, source, signature, status, error FROM events ORDER BY seq" |
    psql -X -q -v ON_ERROR_STOP=1 "$url" -c "COPY events (seq, received_at, action, action_id, entity_type,
        entity_id, updated_on, body, body_sha256, source, signature, status, error) FROM STDIN WITH (FORMAT csv)"
psql -X -q -v ON_ERROR_STOP=1 "$url" -c "UPDATE log_head SET last_seq = (SELECT max(seq) FROM events)" -c "VACUUM ANALYZE events"
"$bin" rebuild --db "$url" >/dev/null
db=$fresh  # sizes below are the SQLite copy's, unchanged: PostgreSQL's are in the line
pgsize() { psql -X -At "$url" -c "SELECT pg_database_size('forget') / 1048576"; }
echo "postgresql database before: $(pgsize) MiB"
run postgres "$url" "$top"
run postgres "$url" "$median"
echo "postgresql database after: $(pgsize) MiB"
"$bin" check --db "$url" | tail -12 || true
