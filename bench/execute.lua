-- wrk script: POST the seed's hello program to /api/execute (used by bench/http.sh).
wrk.method = "POST"
wrk.body = '{"code": "TXT 10 10 Hello GPU\\nHALT", "backend": "cpu"}'
wrk.headers["Content-Type"] = "application/json"

-- Report answers that are not 2xx/3xx, so a run full of 429s cannot pass for a fast one.
function done(summary, latency, requests)
  io.write(string.format("non-2xx answers: %d\n", summary.errors.status))
end
