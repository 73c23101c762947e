-- wrk: prints one STATS line for bench/serve-vs-peers.sh to parse. With UNIQUE=1 each
-- request gets a unique URL (PATH_PREFIX .. thread "x" counter .. PATH_SUFFIX), so no
-- URL-keyed cache can answer it; without it wrk sends its one prebuilt request (a
-- `request` function would cost Lua time per request and cap the static figures).
if os.getenv("UNIQUE") == "1" then
  local prefix = os.getenv("PATH_PREFIX") or "/"
  local suffix = os.getenv("PATH_SUFFIX") or ""
  local counter = 0
  tid = 0
  setup = function(thread)
    tid = tid + 1
    thread:set("tid", tid)
  end
  request = function()
    counter = counter + 1
    return wrk.format("GET", prefix .. tid .. "x" .. counter .. suffix)
  end
end
done = function(summary, latency, requests)
  io.write(string.format("STATS rps=%.1f requests=%d non2xx=%d errors=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests / (summary.duration / 1e6), summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
