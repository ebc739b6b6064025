#!/usr/bin/env bash
# Recovery time of a receiver across a PostgreSQL failover, for BENCHMARKS.md (issue 26).
# Each round: a throwaway primary on loopback TCP and a synchronous streaming standby of it
# (scripts/pg start / standby), one `serve` on the multi-host URL
# (target_session_attrs=read-write, connect_timeout=2), a sender posting a distinct
# CoworkerUpdate every 20 ms and retrying each until a 200 (as Nexudus does); then the primary is
# crashed (pg_ctl stop -m immediate) and, SETTLE seconds later, the standby promoted
# (pg_ctl promote -w). Reported per round: the 503s answered, the seconds from `promote`
# returning to the first 200, and whether every acknowledged delivery is in the new primary's
# log exactly once.
#
# usage: scripts/bench.d/failover.sh [--rounds 3] [--settle 1] [--bin .build/release/nexmirror]
set -euo pipefail
cd "$(dirname "$0")/../.."

rounds=3
settle=1
bin=.build/release/nexmirror
[ -x "$bin" ] || bin=.build/debug/nexmirror
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --settle) settle=$2; shift 2 ;;
        --bin) bin=$2; shift 2 ;;
        *) sed -n '2,/^set/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
    esac
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

work=$(mktemp -d)
cleanup() {
    [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true
    [ -n "${primary:-}" ] && scripts/pg stop "$primary"
    [ -n "${standby:-}" ] && scripts/pg stop "$standby"
    rm -rf "$work"
}
trap cleanup EXIT

echo "failover: $rounds rounds, $bin, crash then promote after ${settle}s"
for round in $(seq "$rounds"); do
    primary_port=$(free_port)
    standby_port=$(free_port)
    eval "$(NEXMIRROR_PG_PORT=$primary_port scripts/pg start)"
    primary=$NEXMIRROR_PG_DIR
    eval "$(NEXMIRROR_PG_PORT=$standby_port NEXMIRROR_PG_SYNC=on scripts/pg standby "$primary")"
    standby=$NEXMIRROR_PG_DIR
    user=$(id -un)
    url="postgresql://$user@127.0.0.1:$primary_port,127.0.0.1:$standby_port/nexmirror?target_session_attrs=read-write&connect_timeout=2"
    "$bin" serve --db "$url" --port 0 --insecure-no-signature --log-level warning >"$work/serve.out" 2>"$work/serve.err" &
    server=$!
    for _ in $(seq 200); do grep -q "listening on" "$work/serve.out" && break; sleep 0.05; done
    port=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$work/serve.out" | head -1)

    python3 - "$port" "$work" <<'EOF' &
import json, sys, time, urllib.request, urllib.error, os
port, work = int(sys.argv[1]), sys.argv[2]
stop = os.path.join(work, "stop")
acked, statuses, i = {}, [], 0
while not os.path.exists(stop):
    body = json.dumps([{"Id": 7_000_000 + i, "FullName": f"Member {i}", "UpdatedOn": "2026-03-01T10:00:00Z"}]).encode()
    while True:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/CoworkerUpdate", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            answer = urllib.request.urlopen(request, timeout=30)
            status, seq = answer.status, json.loads(answer.read())["seq"]
        except urllib.error.HTTPError as error:
            status, seq = error.code, None
        except Exception:
            status, seq = 0, None
        statuses.append((time.time(), status))
        if status == 200:
            acked[i] = seq
            break
        time.sleep(0.02)
    i += 1
    time.sleep(0.02)
json.dump({"acked": acked, "statuses": statuses}, open(os.path.join(work, "sender.json"), "w"))
EOF
    sender=$!
    sleep 3
    crashed=$(date +%s.%N)
    scripts/pg crash "$primary"
    sleep "$settle"
    scripts/pg promote "$standby"
    promoted=$(date +%s.%N)
    sleep 5
    touch "$work/stop"
    wait "$sender"
    rm -f "$work/stop"
    logged=$(psql -X -At "postgresql://$user@127.0.0.1:$standby_port/nexmirror" \
        -c "SELECT count(*) || ' ' || count(DISTINCT body_sha256) || ' ' || (count(*) = max(seq)) FROM events")
    python3 - "$work/sender.json" "$crashed" "$promoted" "$logged" "$round" <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))
crashed, promoted = float(sys.argv[2]), float(sys.argv[3])
(count, distinct, contiguous), round_ = sys.argv[4].split(), sys.argv[5]
statuses = data["statuses"]
failed = [at for at, status in statuses if status != 200]
after = [at for at, status in statuses if status == 200 and at >= promoted]
first = after[0] - promoted if after else float("nan")
since_crash = after[0] - crashed if after else float("nan")
acked = len(data["acked"])
print(f"round {round_}: {acked} acknowledged, {len(failed)} answers not 200; first 200 {since_crash:.2f} s after the "
      f"crash, {first:.2f} s after promote returned; log {count} rows, {distinct} distinct, "
      f"seq without holes: {contiguous == 'true'}; every acknowledged delivery logged once: {int(count) == acked == int(distinct)}")
EOF
    kill "$server" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$server" 2>/dev/null; then
        echo "round $round: serve had not stopped 15 s after SIGTERM; killed"
        kill -9 "$server"
    fi
    wait "$server" 2>/dev/null || true
    server=
    scripts/pg stop "$primary"
    scripts/pg stop "$standby"
    primary=
    standby=
done
