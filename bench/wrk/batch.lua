-- wrk load for POST /api/v1/events/batch: {"events":[...]} with EVENTS events per request
-- (default 1000), every event_id unique in the run: nonce-thread-counter-index.
-- Usage: wrk -t2 -c64 -d10s -s bench/wrk/batch.lua http://127.0.0.1:PORT -- NONCE no 1000 [PAUSE_MS]
-- PAUSE_MS (default 0): each connection waits this long before each request, which paces the
-- whole run at about connections × events / pause (minus what responses take).
--
-- Building a ~90 KB body per request in Lua would make wrk the bottleneck, so init() splits the
-- body once into the fragments between the per-request id prefixes, and request() joins them
-- with a single table.concat(fragments, prefix) call (done in C).

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local fragments
local thread_prefix
local pause_ms = 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  thread_prefix = start_thread(args)
  local events = tonumber(args[3] or "1000")
  pause_ms = tonumber(args[4] or "0")
  if pause_ms == 0 then delay = nil end
  fragments = { '{"events":[{"event_id":"' }
  for i = 0, events - 1 do
    local tail = (i < events - 1) and ',{"event_id":"' or "]}"
    table.insert(fragments, "-" .. i .. '","name":"page_view","path":"/p/' .. (i % 100) ..
      '","user_id":"u_' .. i .. '"}' .. tail)
  end
end

function request()
  sent = sent + 1
  local body = table.concat(fragments, thread_prefix .. sent)
  return wrk.format("POST", "/api/v1/events/batch", headers, body)
end

function delay()
  return pause_ms
end
