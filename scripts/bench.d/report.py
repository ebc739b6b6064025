"""The Markdown report of a run (results.md), from results.json's structure."""

import json
import re



def verdict(ok):
    return "met" if ok else "MISSED"


def report(results, args):
    lines = []
    m = results["machine"]
    lines.append(f"Machine: {m['nproc']} cores, {m['cpu']}, {m['mem']}; {m['date']}; load at start "
                 f"{m['load_start']}, at end {m.get('load_end')}; sqlite {m['sqlite']}; 4 KiB write+fdatasync "
                 f"{m.get('fsync_us')} µs; mode {m['mode']}")
    lines.append("")
    ing = results.get("ingest")
    if ing:
        lines.append("### Ingest (POST /webhooks/<Action>, signed unique ~1.0-1.3 KB bodies, keep-alive, synchronous=FULL)")
        lines.append("")
        lines.append("| target | conns | deliveries/s | p50 ms | p99 ms | 200s | non-200 | rows in events | rows check "
                     "| server CPU µs/req | server ctx switches/req | other work CPU % |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
        for key, r in ing.items():
            name, conns = key.rsplit("-c", 1)
            label = {"healthz": "nexmirror GET /healthz", "rejected": "nexmirror rejection path (wrong signature, 401)",
                     "go": "Go peer (net/http, go-sqlite3)", "flask": "Flask peer (gunicorn gthread 4x8)"}.get(name, name)
            cpu = r.get("server_cpu_s")
            switches = r.get("server_switches")
            answered = max(r["ok"] or r["requests"], 1)  # the rejection path answers only 401s
            per_cpu = "-" if cpu is None else f"{cpu * 1e6 / answered:.0f}"
            per_switch = "-" if switches is None else f"{switches / answered:.1f}"
            codes = " " + json.dumps(r["non200_by_status"]) if r["non200"] else ""
            errors = {k: v for k, v in r["errors"].items() if v and k != "status"}
            if errors:  # no answer at all within wrk's --timeout, or a broken connection
                codes += " + " + ", ".join(f"{v} {k}" for k, v in errors.items())
            lines.append(f"| {label} | {conns} | {r['rate']:.0f} | {r['latency_us']['p50'] / 1000:.2f} | "
                         f"{r['latency_us']['p99'] / 1000:.2f} | {r['ok']} | {r['non200']}{codes} | "
                         f"{r.get('rows', '-')} | {r.get('rows_check', '-')} | {per_cpu} | {per_switch} | "
                         f"{r.get('other_cpu_pct', '-')} |")
        lines.append("")
        nm, go, fl = ing.get("nexmirror-c64"), ing.get("go-c64"), ing.get("flask-c64")
        rj, hz = ing.get("rejected-c64"), ing.get("healthz-c64")
        if nm:
            if go:
                x = nm["rate"] / go["rate"]
                lines.append(f"- durable ingest / Go peer at 64 conns: **{x:.2f}x** (target >= 2.5x: {verdict(x >= 2.5)})")
            if rj:
                x = nm["rate"] / rj["rate"]
                lines.append(f"- durable ingest / its rejection path at 64 conns: **{x:.2f}x** "
                             f"(target >= 0.7x: {verdict(x >= 0.7)})")
            p99 = nm["latency_us"]["p99"] / 1000
            lines.append(f"- durable ingest p99 at 64 conns: **{p99:.2f} ms** (target <= 50 ms: {verdict(p99 <= 50)})")
            if fl:
                lines.append(f"- durable ingest / Flask peer at 64 conns: {nm['rate'] / fl['rate']:.1f}x")
            if hz:
                lines.append(f"- durable ingest / GET /healthz at 64 conns: {nm['rate'] / hz['rate']:.2f}x")
            for c in (1, 16):
                a, b = ing.get(f"nexmirror-c{c}"), ing.get(f"go-c{c}")
                if a and b:
                    lines.append(f"- durable ingest / Go peer at {c} conn(s): {a['rate'] / b['rate']:.2f}x")
        lines.append("")
    reb = results.get("rebuild")
    if reb:
        lines.append("### Rebuild (refold the whole log; nexmirror rebuild vs sqlite3 pure-SQL fold, json_extract)")
        lines.append("")
        lines.append("| log shape | events | entities | DB MiB | nexmirror s | nexmirror events/s | nexmirror CPU s | nexmirror peak RSS MiB | sqlite3 s | sqlite3 events/s | sqlite3 CPU s | sqlite3 peak RSS MiB | speed ratio (wall) | CPU ratio | replicas differ | other work CPU % |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in reb.values():
            a, b = r["nexmirror"], r["sql"]
            differing = sum(t["only_nexmirror"] + t["only_sql"] for t in r["compare"].values())
            entities = re.search(r"(\d+) entities", r.get("generator", ""))
            lines.append(f"| {r.get('shape', 'versions')} | {r['events']} | {entities.group(1) if entities else '-'} | "
                         f"{r['db_mib']:.0f} | {a['wall_s']:.2f} | {r['events'] / a['wall_s']:.0f} | {a.get('cpu_s', 0):.2f} | "
                         f"{a['rss_mib']:.0f} | {b['wall_s']:.2f} | {r['events'] / b['wall_s']:.0f} | {b.get('cpu_s', 0):.2f} | "
                         f"{b['rss_mib']:.0f} | {b['wall_s'] / a['wall_s']:.2f}x | "
                         f"{b.get('cpu_s', 0) / max(a.get('cpu_s', 0), 1e-9):.2f}x | {differing} rows | "
                         f"{a.get('other_cpu_pct', '-')} / {b.get('other_cpu_pct', '-')} |")
        lines.append("")
        shapes = {}
        for r in reb.values():
            shapes.setdefault(r.get("shape", "versions"), []).append(r)
        for shape, runs in shapes.items():
            small, big = runs[0], runs[-1]
            ratio = big["sql"]["wall_s"] / big["nexmirror"]["wall_s"]
            cpu_ratio = big["sql"].get("cpu_s", 0) / max(big["nexmirror"].get("cpu_s", 0), 1e-9)
            lines.append(f"- {shape}: speed vs sqlite3 fold at {big['events']} events: **{ratio:.2f}x** wall, "
                         f"{cpu_ratio:.2f}x CPU (target >= 0.8x: {verdict(ratio >= 0.8)})")
            if len(runs) > 1:
                growth = big["nexmirror"]["rss_mib"] / small["nexmirror"]["rss_mib"]
                lines.append(f"- {shape}: RSS from {small['events']} to {big['events']} events: "
                             f"{small['nexmirror']['rss_mib']:.0f} -> {big['nexmirror']['rss_mib']:.0f} MiB, "
                             f"x{growth:.2f} (target flat: {verdict(growth < 1.25)})")
        peak = max(r["nexmirror"]["rss_mib"] for r in reb.values())
        lines.append(f"- nexmirror peak RSS: **{peak:.0f} MiB** (target < 200 MiB: {verdict(peak < 200)})")
        lines.append("")
    q = results.get("query")
    if q:
        lines.append("### Query and export (hyperfine, output to /dev/null)")
        lines.append("")
        if "skipped" in q:
            lines.append(f"skipped: {q['skipped']}")
        else:
            lines.append(f"Replica: {q.get('replica')}")
            lines.append("")
            lines.append("| case | rows | nexmirror ms | sqlite3 -csv ms | ratio | target <= 1.3x | same rows (parsed CSV) | nexmirror RSS MiB | sqlite3 RSS MiB |")
            lines.append("|---|---:|---:|---:|---:|---|---|---:|---:|")
            for name, r in q.items():
                if not isinstance(r, dict) or "nexmirror" not in r:
                    continue
                a, b = r["nexmirror"], r["sqlite3"]
                ratio = a["mean_s"] / b["mean_s"]
                startup = name.startswith("process start")
                lines.append(f"| {name} | {'-' if startup else r['rows']} | {a['mean_s'] * 1000:.1f} ± {a['stddev_s'] * 1000:.1f} | "
                             f"{b['mean_s'] * 1000:.1f} ± {b['stddev_s'] * 1000:.1f} | {ratio:.2f}x | "
                             f"{'(no target)' if startup else verdict(ratio <= 1.3)} | "
                             f"{'-' if startup else 'yes' if r['same_output'] else 'no'} | {a['max_rss_mib']:.0f} | {b['max_rss_mib']:.0f} |")
            for key in ("query", "export"):
                if isinstance(q.get(key), str):
                    lines.append(f"\n{key}: {q[key]}")
            for name, r in q.items():
                if isinstance(r, dict) and "error" in r:
                    lines.append(f"\n{name}: nexmirror failed: {r['error'][:300]}")
        lines.append("")
    asof = results.get("asof")
    if asof:
        lines.append(f"### As-of (`query --as-of T` vs `rebuild` of a file holding only the deliveries up to T; log of {asof['events']} events, {asof['db_mib']:.0f} MiB)")
        lines.append("")
        lines.append(f"Full rebuild of the whole log: {asof['rebuild_all']['wall_s']:.2f} s.")
        lines.append("")
        lines.append("| T | deliveries up to T | as-of s | as-of peak RSS MiB | rebuild of those s | ratio | target <= 1.0x | same answer |")
        lines.append("|---|---:|---:|---:|---:|---:|---|---|")
        for label in ("median", "after last"):
            r = asof.get(label)
            if not r:
                continue
            ratio = r["as_of"]["wall_s"] / r["rebuild_subset"]["wall_s"]
            lines.append(f"| {label} ({r['instant']}) | {r['deliveries']} | {r['as_of']['wall_s']:.2f} | {r['as_of']['rss_mib']:.0f} | "
                         f"{r['rebuild_subset']['wall_s']:.2f} | {ratio:.2f}x | {verdict(ratio <= 1.0)} | {'yes' if r['same_replica'] else 'NO'} |")
        lines.append("")
    commands = []
    for key, r in (results.get("ingest") or {}).items():
        commands.append(f"# ingest {key}\n{r.get('server_command', '')} &\n{r['command']}")
    for n, r in (results.get("rebuild") or {}).items():
        commands.append(f"# rebuild {n}\n{r['nexmirror']['command']}\n{r['sql']['command']}")
    for name, r in (results.get("query") or {}).items():
        if isinstance(r, dict) and "command" in r:
            commands.append(f"# {name}\n{r['command']}")
    if asof:
        commands.append(f"# as-of: full rebuild\n{asof['rebuild_all']['command']}")
        for label in ("median", "after last"):
            if asof.get(label):
                commands.append(f"# as-of {label}\n{asof[label]['as_of']['command']}\n{asof[label]['rebuild_subset']['command']}")
    if commands:
        lines.append("<details><summary>Exact commands of this run</summary>")
        lines.append("")
        lines.append("```")
        lines += commands
        lines.append("```")
        lines.append("</details>")
        lines.append("")
    if results.get("section_seconds"):
        lines.append("Section times (s): " + ", ".join(f"{k} {v}" for k, v in results["section_seconds"].items()))
    return "\n".join(lines)
