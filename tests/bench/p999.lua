-- p999.lua - wrk's --latency table stops at p99: also print p99.9 (and
-- the maximum), in microseconds, for bench_wrk_parse (lib.sh).
done = function(summary, latency, requests)
	io.write(string.format("Latency p99.9: %dus max: %dus\n", latency:percentile(99.9), latency.max))
end
