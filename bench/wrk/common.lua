-- Shared by the ingest wrk scripts: numbers the threads, keeps each thread's request counter
-- (the global `sent`), and prints one machine-readable summary line when the run is done.
--
-- wrk runs this file in the setup/done environment and again in every thread's environment;
-- thread:set/get move plain values between them. Arguments after `--`: the run nonce, then
-- script-specific ones.

local threads = {}

-- Per-thread globals, set by setup() and read back by done().
tid = 0
sent = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- The id prefix of this thread's requests: unique per run (nonce) and per thread.
function id_prefix(args)
  local nonce = args[1]
  if nonce == nil or nonce == "" then
    error("pass a run nonce after --, e.g. wrk ... -s script.lua URL -- r1234")
  end
  return nonce .. "-" .. tid .. "-"
end

function done(summary, latency, requests)
  local per_thread = {}
  for _, thread in ipairs(threads) do
    table.insert(per_thread, string.format('"%d":%d', thread:get("tid"), thread:get("sent")))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d},"sent":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(per_thread, ",")))
end
