-- wrk script: GET /healthz, the server's own ceiling; counts answers like post.lua does so both
-- runs pay the same client-side cost. Writes a JSON summary to $BENCH_RESULT.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok, non200, duplicates, wrapped = 0, 0, 0, 0
  statuses = {}
  wrk.method = "GET"
  wrk.path = "/healthz"
  request_text = wrk.format("GET", "/healthz")
end

function request()
  return request_text
end

function response(status, hdrs, body)
  if status == 200 then
    ok = ok + 1
  else
    non200 = non200 + 1
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
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
