-- Shared by post.lua and healthz.lua (each loads it with dofile): remembers every wrk thread,
-- then sums their counters (ok, non200, duplicates, wrapped, statuses) and writes one JSON object
-- to $BENCH_RESULT for bench.py.

threads = {}

function register(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local total = { ok = 0, non200 = 0, duplicates = 0, wrapped = 0 }
  local codes = {}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(total) do total[key] = total[key] + (thread:get(key) or 0) end
    for code, count in pairs(thread:get("statuses") or {}) do codes[code] = (codes[code] or 0) + count end
  end
  local code_list = {}
  for code, count in pairs(codes) do table.insert(code_list, string.format('"%s":%d', code, count)) end
  local e = summary.errors
  local out = assert(io.open(os.getenv("BENCH_RESULT"), "w"))
  out:write(string.format(
    '{"requests":%d,"duration_us":%d,"ok":%d,"non200":%d,"non200_by_status":{%s},"duplicates":%d,' ..
    '"wrapped":%d,"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, total.ok, total.non200, table.concat(code_list, ","),
    total.duplicates, total.wrapped, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
  out:close()
end
