-- wrk load for POST /api/v1/events: one event per request. Every event_id is unique in the run
-- (nonce-thread-counter), so Tally's deduplication never short-circuits the durable write.
-- Usage: wrk -t2 -c64 -d10s -s bench/wrk/single-event.lua http://127.0.0.1:PORT -- NONCE no

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local prefix
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  prefix = '{"event_id":"' .. start_thread(args)
end

function request()
  sent = sent + 1
  local body = prefix .. sent .. '","name":"page_view","path":"/p/' .. (sent % 100) ..
    '","user_id":"u_' .. (sent % 1000) .. '"}'
  return wrk.format("POST", "/api/v1/events", headers, body)
end
