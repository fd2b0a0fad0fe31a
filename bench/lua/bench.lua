-- wrk script for every HTTP benchmark: optional session cookie and POST body from the
-- environment, and a machine-readable summary line at the end.
local cookie = os.getenv("BENCH_COOKIE")
local body = os.getenv("BENCH_BODY")

wrk.headers["Accept-Language"] = "en"
wrk.headers["Accept"] = "text/html"
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end

-- BENCH_COOKIES: several sessions separated by "|" (the busy-account scenario's reps), one
-- after the other request by request (each wrk thread runs its own copy of this script).
local cookies = {}
for c in string.gmatch(os.getenv("BENCH_COOKIES") or "", "[^|]+") do
  cookies[#cookies + 1] = c
end
if #cookies > 0 then
  local n = 0
  request = function()
    n = n + 1
    wrk.headers["Cookie"] = cookies[n % #cookies + 1]
    return wrk.format()
  end
end
if body and body ~= "" then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "p50": %d, "p90": %d, "p95": %d, "p99": %d, ' ..
    '"max": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max))
end
