-- Shared by the ingest wrk scripts: numbers the threads, keeps each thread's request counter
-- (the global `sent`), optionally samples acknowledged event ids from responses and counts
-- non-2xx statuses, and prints one machine-readable summary line (BENCH_JSON {...}) at the end.
--
-- wrk runs this file in the setup/done environment and again in every thread's environment;
-- thread:set/get move plain values between them. Arguments after `--`:
--   1. the run nonce (makes every event_id unique across runs)
--   2. "sample" to keep a sample of acknowledged ids and count statuses, else "no"; wrk
--      parses responses into Lua only when response() is defined, which costs wrk CPU, so the
--      baseline runs without it
--   3+ script-specific

local threads = {}

-- Per-thread globals, set by setup()/init() and read back by done().
tid = 0
sent = 0
answered = 0
acked = {}
failed = {}        -- status code -> count of non-2xx responses (sampled runs only)
failed_body = ""   -- the body of the first non-2xx response, cut to 300 bytes

local SAMPLE_MAX = 40

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- The event_id prefix of this thread's requests: unique per run (nonce) and thread.
function start_thread(args)
  local nonce = args[1]
  if nonce == nil or nonce == "" then
    error("pass a run nonce after --, e.g. wrk ... -s script.lua URL -- r1234 no")
  end
  math.randomseed(os.time() + tid)
  if args[2] ~= "sample" then response = nil end
  return nonce .. "-" .. tid .. "-"
end

-- Non-2xx responses are counted by status; of the 2xx ones, every response has the same chance
-- to be in `acked` (reservoir sampling).
function response(status, headers, body)
  if status < 200 or status > 299 then
    failed[status] = (failed[status] or 0) + 1
    if failed_body == "" then failed_body = string.sub(body or "", 1, 300) end
    return
  end
  answered = answered + 1
  local slot = answered
  if slot > SAMPLE_MAX then slot = math.random(answered) end
  if slot > SAMPLE_MAX then return end
  local ids = {}
  for id in body:gmatch('"event_id":"([^"\\]+)"') do table.insert(ids, id) end
  if #ids > 0 then acked[slot] = ids[math.random(#ids)] end
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function done(summary, latency, requests)
  local per_thread, sample, statuses, body = {}, {}, {}, ""
  local by_status = {}
  for _, thread in ipairs(threads) do
    table.insert(per_thread, string.format('"%d":%d', thread:get("tid"), thread:get("sent")))
    for _, id in pairs(thread:get("acked")) do table.insert(sample, json_string(id)) end
    for status, count in pairs(thread:get("failed")) do
      by_status[status] = (by_status[status] or 0) + count
    end
    if body == "" then body = thread:get("failed_body") end
  end
  for status, count in pairs(by_status) do
    table.insert(statuses, string.format('"%d":%d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d},"sent":{%s},"acked":[%s],' ..
      '"failed":{%s},"failed_body":%s}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(per_thread, ","), table.concat(sample, ","), table.concat(statuses, ","),
    json_string(body)))
end
