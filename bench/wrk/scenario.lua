-- scenario.lua: the request of one bench/run.sh scenario, and a machine-readable summary.
-- The request is fixed for the whole run (no request()/response() callbacks, which would slow
-- wrk down); it is read once per wrk thread from the environment:
--   BENCH_METHOD (default GET), BENCH_BODY, BENCH_CTYPE, BENCH_AUTH (a secret key).
-- done() prints one line that run.sh parses:
--   BENCH_RESULT requests=N duration_us=N p50_us=N p99_us=N status_errors=N connect_errors=N
--                read_errors=N write_errors=N timeouts=N
-- status_errors counts responses with a status of 400 or more (wrk's "Non-2xx or 3xx" line).

wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body ~= nil and body ~= "" then
   wrk.body = body
end
local ctype = os.getenv("BENCH_CTYPE")
if ctype ~= nil and ctype ~= "" then
   wrk.headers["Content-Type"] = ctype
end
local auth = os.getenv("BENCH_AUTH")
if auth ~= nil and auth ~= "" then
   wrk.headers["Authorization"] = "Bearer " .. auth
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH_RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d " ..
      "connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      e.status, e.connect, e.read, e.write, e.timeout))
end
