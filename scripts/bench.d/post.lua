-- wrk script: POSTs pre-signed, unique Nexudus deliveries (see gen_ingest.py).
-- usage: wrk ... -s post.lua URL -- DATA_DIR [wrong-signature]   (JSON summary to $BENCH_RESULT)
-- With `wrong-signature` every request carries its signature reversed: still 64 hex digits, so
-- the receiver reads the body and computes both HMACs before answering 401 (its rejection path).
-- Thread T reads DATA_DIR/bodies.T.tsv line by line, so no two requests of a run repeat; if a
-- file runs out it starts over and counts it in "wrapped" (those requests are duplicates).

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

local next_tid = 1

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  register(thread)
end

function init(args)
  local dir = args[1]
  templates = dofile(dir .. "/templates.lua")
  file = assert(io.open(dir .. "/bodies." .. tid .. ".tsv", "r"))
  wrong = args[2] == "wrong-signature"
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
  headers["X-Nexudus-Hook-Signature"] = wrong and sig:reverse() or sig
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
