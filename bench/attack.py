#!/usr/bin/env python3
"""The load and attack script of issue 17 (BENCHMARKS.md, "## Under attack").

Starts a release `gvpie serve` on a loopback port with a scratch database and, while a separate
process measures GET /health latency (one new connection per request, every 10 ms) and this one
samples the server's resident memory (VmRSS in /proc/PID/status, every 20 ms), sends:

  1. oversized batches: 8 concurrent 1024 x 2048x2048 "image":"rgba" batches (about 37 GiB of
     results each), to be refused at once (422 limit_exceeded);
  2. PNG bombs: 64 concurrent /api/cart/unpack and 16 POST /api/goals image targets, each an
     87 KB PNG that inflates to 64 MiB (4096x4096 RGBA of zeros);
  3. two runaway requests at once: a batch of 64 billion-cycle CLS loops (auto: the GPU when the
     server has one) and one of them with "backend":"gpu", which must end at the time limit with
     `time_limit` and the backend that was running; then one more on /api/execute (auto: the CPU);
  4. /api/check of a 0.7 MB program with 30,000 undefined labels (under 2 s);
  5. an optimize goal whose script never ends (refused with `time_limit`);
  6. recovery: 50 hello-world executions right after;
  7. SIGTERM with a billion-cycle run in flight: the process must exit within 10 s.

Everything is on 127.0.0.1, bounded in count and in time (each request has a timeout; the whole
run takes about a minute). Not part of `cargo test` or `.ci/run`.

Usage: python3 bench/attack.py [--gvpie target/release/gvpie]
Exit status 0 when every check holds, 1 otherwise (the report says which).
"""

import argparse
import base64
import http.client
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

FOREVER = "top:\nCLS 1 2 3\nJMP top"
HELLO = "TXT 10 10 Hello GPU\nHALT"


def request(addr, method, path, body=None, timeout=60.0):
    """One request on a new connection: (status, parsed JSON or text, seconds)."""
    host, port = addr
    started = time.monotonic()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Host": f"{host}:{port}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        status = response.status
    except Exception as err:  # noqa: BLE001 - reported, not raised: a failure is a result here
        return 0, f"{type(err).__name__}: {err}", time.monotonic() - started
    finally:
        conn.close()
    elapsed = time.monotonic() - started
    try:
        return status, json.loads(raw), elapsed
    except ValueError:
        return status, raw.decode(errors="replace"), elapsed


def health_loop(host, port, out_path):
    """Runs in its own process: GET /health every 10 ms until SIGTERM; writes the latencies."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    samples = []
    while not stop:
        started = time.monotonic()
        status, _, elapsed = request((host, port), "GET", "/health", timeout=10.0)
        samples.append((started, elapsed * 1000.0, status))
        time.sleep(max(0.0, 0.010 - (time.monotonic() - started)))
    with open(out_path, "w") as out:
        json.dump(samples, out)


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(side=4096):
    """A valid RGBA PNG of side x side black pixels: about 87 KB that inflate to side*side*4 bytes."""
    row = b"\x00" + b"\x00" * (side * 4)
    raw = row * side
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")


class Rss(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.max_kb = 0
        self.samples = []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            try:
                with open(f"/proc/{self.pid}/status") as status:
                    for line in status:
                        if line.startswith("VmRSS:"):
                            kb = int(line.split()[1])
                            self.samples.append((time.monotonic(), kb))
                            self.max_kb = max(self.max_kb, kb)
            except OSError:
                return
            time.sleep(0.02)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gvpie", default="target/release/gvpie")
    parser.add_argument("--health-loop", nargs=3, metavar=("HOST", "PORT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.health_loop:
        health_loop(args.health_loop[0], int(args.health_loop[1]), args.health_loop[2])
        return 0

    checks = []

    def check(name, ok, detail):
        checks.append((name, bool(ok), detail))
        print(f"  [{'ok' if ok else 'FAIL'}] {name}: {detail}", flush=True)

    scratch = tempfile.mkdtemp(prefix="gvpie-attack-")
    server = subprocess.Popen(
        [args.gvpie, "serve", "--bind", "127.0.0.1:0", "--db", os.path.join(scratch, "gvpie.db")],
        stdout=subprocess.PIPE,
        stderr=open(os.path.join(scratch, "serve.log"), "w"),
        env={**os.environ, "GVPIE_TOKEN": ""},
        text=True,
    )
    line = server.stdout.readline()
    found = re.search(r"http://([0-9.]+):(\d+) \(backends: ([^;]+);", line)
    if not found:
        print(f"gvpie serve did not start: {line!r}", file=sys.stderr)
        server.kill()
        return 2
    addr = (found.group(1), int(found.group(2)))
    backends = found.group(3)
    print(f"server pid {server.pid} on {addr[0]}:{addr[1]}, backends: {backends}", flush=True)

    rss = Rss(server.pid)
    rss.start()
    health_out = os.path.join(scratch, "health.json")
    health = subprocess.Popen([sys.executable, __file__, "--health-loop", addr[0], str(addr[1]), health_out])
    marks = []

    def mark(name):
        marks.append((name, time.monotonic()))
        print(f"\n== {name}", flush=True)

    mark("baseline")
    time.sleep(1.0)
    rss_baseline_kb = rss.max_kb

    mark("oversized batches")
    big = {"programs": [{"code": "HALT"}] * 1024, "width": 2048, "height": 2048, "image": "rgba"}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: request(addr, "POST", "/api/execute/batch", big), range(8)))
    kinds = {(s, b["error"]["kind"] if isinstance(b, dict) and "error" in b else None) for s, b, _ in answers}
    slowest = max(t for _, _, t in answers)
    message = answers[0][1]["error"]["message"] if isinstance(answers[0][1], dict) else answers[0][1]
    check("8 x 1024 programs x 2048x2048 rgba refused", kinds == {(422, "limit_exceeded")},
          f"{kinds}, slowest answer {slowest * 1000:.1f} ms; \"{message}\"")

    mark("PNG bombs")
    bomb = png_bomb()
    bomb64 = base64.b64encode(bomb).decode()
    print(f"  bomb: {len(bomb)} bytes, inflates to {4096 * 4096 * 4 >> 20} MiB", flush=True)
    with ThreadPoolExecutor(64) as pool:
        answers = list(pool.map(lambda _: request(addr, "POST", "/api/cart/unpack", {"cartridge": bomb64}), range(64)))
    statuses = {}
    for s, b, _ in answers:
        key = (s, b["error"]["kind"] if isinstance(b, dict) and "error" in b else None)
        statuses[key] = statuses.get(key, 0) + 1
    slowest = max(t for _, _, t in answers)
    check("64 concurrent cart/unpack bombs answered, none 5xx", all(s and s < 500 for s, _, _ in answers),
          f"{statuses}, slowest {slowest * 1000:.0f} ms")
    goal = {"kind": "image", "target_png": bomb64}
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: request(addr, "POST", "/api/goals", goal), range(16)))
    statuses = {}
    for s, b, _ in answers:
        key = (s, b["error"]["kind"] if isinstance(b, dict) and "error" in b else None)
        statuses[key] = statuses.get(key, 0) + 1
    slowest = max(t for _, _, t in answers)
    check("16 concurrent goal targets that are bombs answered, none 5xx", all(s and s < 500 for s, _, _ in answers),
          f"{statuses}, slowest {slowest * 1000:.0f} ms")

    mark("runaway requests")
    single = {"code": FOREVER, "budget": 1_000_000_000, "width": 256, "height": 256}
    batch = {"programs": [{"code": FOREVER}] * 64, "budget": 1_000_000_000, "width": 256, "height": 256}
    # Two at once (the server of a 2-core machine has two execution slots: neither waits for the other).
    with ThreadPoolExecutor(2) as pool:
        many = pool.submit(request, addr, "POST", "/api/execute/batch", batch, 120.0)
        gpu = pool.submit(request, addr, "POST", "/api/execute", {**single, "backend": "gpu"}, 120.0)
        many, gpu = many.result(), gpu.result()
    # Then one on the CPU (auto runs a single program there).
    one = request(addr, "POST", "/api/execute", single, 120.0)
    for name, (status, body, elapsed) in [("64-program batch, auto", many), ("single, gpu", gpu), ("single, auto", one)]:
        result = body["results"][0] if isinstance(body, dict) and "results" in body else body
        if isinstance(result, dict) and "error" in result and "backend" in result:
            detail = (f"{status} in {elapsed:.2f} s: kind {result['error']['kind']}, backend {result['backend']}, "
                      f"{result['cycles']} cycles, \"{result['error']['message']}\"")
            if result.get("gpu_fallback"):
                detail += f" (GPU fallback: {result['gpu_fallback']})"
            ok = status == 200 and result["error"]["kind"] == "time_limit" and elapsed < 10
        else:
            detail = f"{status} in {elapsed:.2f} s: {json.dumps(body)[:200]}"
            ok = status == 422 and name.endswith("gpu") and "gpu" not in backends
        check(f"runaway {name} ends at the time limit", ok, detail)

    mark("check of a 0.7 MB program")
    source = "".join(f"lab{i:05}: JMP lab{i:05}x\n" for i in range(30_000))
    status, body, elapsed = request(addr, "POST", "/api/check", {"code": source})
    n = len(body.get("diagnostics", [])) if isinstance(body, dict) else body
    check("/api/check of 0.7 MB, 30,000 undefined labels, under 2 s", status == 200 and elapsed < 2.0,
          f"{len(source)} bytes: {status} in {elapsed * 1000:.0f} ms, {n} diagnostics")

    mark("optimize goal of a script that never ends")
    request(addr, "POST", "/api/scripts", {"name": "forever", "code": FOREVER, "lang": "pixel", "enabled": False})
    status, body, elapsed = request(addr, "POST", "/api/goals",
                                    {"kind": "optimize", "script": "forever", "cycle_budget": 1_000_000_000})
    kind = body["error"]["kind"] if isinstance(body, dict) and "error" in body else body
    check("optimize goal refused with time_limit", status == 422 and kind == "time_limit",
          f"{status} {kind} in {elapsed:.2f} s")

    mark("recovery")
    answers = [request(addr, "POST", "/api/execute", {"code": HELLO}) for _ in range(50)]
    ok = all(s == 200 and b.get("success") for s, b, _ in answers)
    times = [t * 1000 for _, _, t in answers]
    check("50 hello-world executions right after", ok,
          f"p50 {percentile(times, 50):.2f} ms, p99 {percentile(times, 99):.2f} ms")
    mark("end")

    health.send_signal(signal.SIGTERM)
    health.wait(timeout=30)
    rss.stopped.set()
    with open(health_out) as f:
        samples = json.load(f)

    print("\n== /health latency by phase (ms)")
    print(f"  {'phase':<42} {'n':>5} {'p50':>8} {'p99':>8} {'max':>8}  non-200")
    all_ms = []
    for (name, start), (_, end) in zip(marks, marks[1:]):
        ms = [m for t, m, _ in samples if start <= t < end]
        bad = sum(1 for t, _, s in samples if start <= t < end and s != 200)
        all_ms += ms
        print(f"  {name:<42} {len(ms):>5} {percentile(ms, 50):>8.2f} {percentile(ms, 99):>8.2f} "
              f"{max(ms) if ms else float('nan'):>8.2f}  {bad}")
    check("/health p99 under 50 ms during all of it", percentile(all_ms, 99) < 50.0,
          f"{len(all_ms)} requests, p50 {percentile(all_ms, 50):.2f} ms, p99 {percentile(all_ms, 99):.2f} ms, "
          f"max {max(all_ms):.1f} ms")
    check("server RSS under 1 GiB", rss.max_kb < 1 << 20,
          f"baseline {rss_baseline_kb / 1024:.0f} MiB, max {rss.max_kb / 1024:.0f} MiB")

    print("\n== SIGTERM with a billion-cycle run in flight")
    rss = None
    runaway = threading.Thread(target=request, args=(addr, "POST", "/api/execute",
                                                     {"code": FOREVER, "budget": 1_000_000_000}, 60.0), daemon=True)
    runaway.start()
    time.sleep(0.3)
    sent = time.monotonic()
    server.send_signal(signal.SIGTERM)
    try:
        code = server.wait(timeout=30)
        waited = time.monotonic() - sent
        check("gvpie serve exits within 10 s of SIGTERM", waited < 10.0, f"exit {code} after {waited:.2f} s")
    except subprocess.TimeoutExpired:
        server.kill()
        check("gvpie serve exits within 10 s of SIGTERM", False, "still running after 30 s (killed)")

    failed = [name for name, ok, _ in checks if not ok]
    print(f"\n{len(checks) - len(failed)} of {len(checks)} checks hold" + (f"; failed: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
