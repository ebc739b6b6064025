-- wrk script: POSTs pre-signed, unique Nexudus deliveries (see gen_ingest.py).
-- usage: wrk ... -s post.lua URL -- DATA_DIR     (writes a JSON summary to $BENCH_RESULT)
-- Thread T reads DATA_DIR/bodies.T.tsv line by line, so no two requests of a run repeat; if a
-- file runs out it starts over and counts it in "wrapped" (those requests are duplicates).

local threads = {}
local next_tid = 1

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

function init(args)
  local dir = args[1]
  templates = dofile(dir .. "/templates.lua")
  file = assert(io.open(dir .. "/bodies." .. tid .. ".tsv", "r"))
  ok, non200, duplicates, wrapped = 0, 0, 0, 0
  statuses = {}
  headers = { ["Content-Type"] = "application/json", ["X-Nexudus-Hook-Signature"] = "" }
  values = {}
  parts = {}
end

function request()
  local line = file:read("*l")
  if not line then
    wrapped = wrapped + 1
    file:seek("set", 0)
    line = file:read("*l")
  end
  local k, sig, id, uid, updated = line:match("^(%d+)\t(%x+)\t(%d+)\t([^\t]*)\t([^\t]*)$")
  local t = templates[tonumber(k)]
  values[1], values[2], values[3] = id, uid, updated
  local lits, vars = t.lits, t.vars
  local n = #vars
  for i = 1, n do
    parts[2 * i - 1] = lits[i]
    parts[2 * i] = values[vars[i]]
  end
  parts[2 * n + 1] = lits[n + 1]
  for i = #parts, 2 * n + 2, -1 do parts[i] = nil end
  headers["X-Nexudus-Hook-Signature"] = sig
  return wrk.format("POST", t.path, headers, table.concat(parts))
end

function response(status, hdrs, body)
  if status == 200 then
    ok = ok + 1
    if body and body:find('"duplicate":true', 1, true) then duplicates = duplicates + 1 end
  else
    non200 = non200 + 1
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

-- Shared with healthz.lua: sums the per-thread counters and writes one JSON object.
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
