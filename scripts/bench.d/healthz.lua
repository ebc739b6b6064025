-- wrk script: GET /healthz, the server's own ceiling; counts answers like post.lua does so both
-- runs pay the same client-side cost. Writes a JSON summary to $BENCH_RESULT.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

function setup(thread)
  register(thread)
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
