#!/usr/bin/env python3
"""Contract tests of the pixel_os bridge against a running ``gvpie serve`` (``GVPIE_URL``).

No test framework needed: every ``test_*`` coroutine below runs in order, and the last line is
``N passed, M failed``; the exit status is 1 when any failed. ``crates/cli/tests`` starts a real
server and runs this file; by hand: ``GVPIE_URL=http://127.0.0.1:8081 python3 tests/run_tests.py``.
"""

import asyncio
import base64
import email.utils
import http.server
import os
import sys
import threading
import time
import traceback
from contextlib import contextmanager

try:
    import pixel_os
except ImportError:  # Run from a checkout without installing.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import pixel_os

from pixel_os import DEFAULT_URL, ExecutionResult, GVPIEBridge, GVPIEError, parse_retry_after

HELLO = "TXT 10 10 Hello GPU\nHALT"


def expect(condition, message=""):
    if not condition:
        raise AssertionError(message)


async def expect_error(coroutine, status, kind):
    try:
        await coroutine
    except GVPIEError as err:
        expect(err.status == status, f"status {err.status}, expected {status}: {err}")
        expect(err.kind == kind, f"kind {err.kind}, expected {kind}: {err}")
        expect(err.message, "a message")
        return err
    raise AssertionError(f"expected a {status} {kind} error")


async def test_seed_usage():
    async with GVPIEBridge() as bridge:
        result = await bridge.execute_program(HELLO)
    expect(isinstance(result, ExecutionResult))
    expect(result.success is True, result)
    expect(result.cycles == 2, result)
    expect(result.backend in ("cpu", "gpu"), result)
    expect(result.duration_ms >= 0, result)
    expect(result.error is None)


async def test_health():
    async with GVPIEBridge() as bridge:
        expect(await bridge.check_health())
        health = await bridge.health()
    expect(health["status"] == "healthy")
    expect("cpu" in health["backends"], health)
    expect(health["version"], health)


async def test_base_url_precedence():
    saved = os.environ.get("GVPIE_URL")
    try:
        os.environ["GVPIE_URL"] = "http://example.invalid:1"
        expect(GVPIEBridge().base_url == "http://example.invalid:1")
        expect(GVPIEBridge("http://other:2/").base_url == "http://other:2")
        del os.environ["GVPIE_URL"]
        expect(GVPIEBridge().base_url == DEFAULT_URL == "http://localhost:8081")
    finally:
        if saved is not None:
            os.environ["GVPIE_URL"] = saved


async def test_backend_is_case_insensitive():
    async with GVPIEBridge() as bridge:
        health = await bridge.health()
        for name in ("CPU", "cpu", "Auto"):
            result = await bridge.execute_program(HELLO, backend=name)
            expect(result.success and result.backend == "cpu", (name, result))
        if "gpu" in health["backends"]:
            result = await bridge.execute_program(HELLO, backend="GPU")
            expect(result.success and result.backend == "gpu", result)
        else:
            await expect_error(bridge.execute_program(HELLO, backend="GPU"), 422, "backend_unavailable")


async def test_program_errors_are_results():
    async with GVPIEBridge() as bridge:
        parse = await bridge.execute_program("RECTT 1 2 3 4")
        expect(not parse.success and parse.error.kind == "parse", parse)
        expect(parse.error.line == 1 and parse.error.column == 1, parse.error)
        trap = await bridge.execute_program("DIV a 1 0")
        expect(not trap.success and trap.error.kind == "division_by_zero" and trap.cycles == 1, trap)


async def test_bad_requests_raise():
    async with GVPIEBridge() as bridge:
        await expect_error(bridge.execute_program(HELLO, backend="tpu"), 422, "invalid_request")
        await expect_error(bridge.execute_program(HELLO, width=-5), 422, "invalid_request")
        await expect_error(bridge.execute_program(HELLO, width=100000, height=100000), 422, "limit_exceeded")
        await expect_error(bridge.execute_program(HELLO, budget=2 ** 64), 422, "limit_exceeded")
        await expect_error(bridge.request("GET", "/nope"), 404, "not_found")


async def test_images():
    async with GVPIEBridge() as bridge:
        png = await bridge.execute_program("COLOR 255 0 0\nPSET 1 1", width=4, height=4, image="png")
        expect(png.image[:8] == b"\x89PNG\r\n\x1a\n", png.image[:8])
        rgba = await bridge.execute_program("COLOR 255 0 0\nPSET 1 1", width=4, height=4, image="RGBA")
        expect(len(rgba.image) == 64, len(rgba.image))
        expect(rgba.image[(1 * 4 + 1) * 4:(1 * 4 + 1) * 4 + 4] == bytes([255, 0, 0, 255]))


async def test_compile():
    async with GVPIEBridge() as bridge:
        compiled = await bridge.compile("a red circle above a blue square", width=64, height=64)
        expect(compiled["path"] == "grammar", compiled)
        expect("CIRCF" in compiled["source"] and compiled["source"].endswith("HALT\n"), compiled["source"])
        expect([o["kind"] for o in compiled["objects"]] == ["circle", "square"], compiled["objects"])
        expect(base64.b64decode(compiled["image"]).startswith(b"\x89PNG"), "a PNG")
        ran = await bridge.execute_program(compiled["source"], width=64, height=64)
        expect(ran.success, ran)
        error = await expect_error(bridge.compile("draw a circel"), 422, "invalid_request")
        expect("circel" in error.message and "did you mean circle" in error.message, error)


async def test_batch():
    async with GVPIEBridge() as bridge:
        results = await bridge.execute_batch([HELLO, "NOPE", "SET a 1\nHALT"])
    expect([r.cycles for r in results] == [2, 0, 2], results)
    expect([r.success for r in results] == [True, False, True], results)


async def test_cartridge_round_trip():
    async with GVPIEBridge() as bridge:
        # A 1x1 PNG that is not a cartridge: a clear refusal, not a crash.
        not_a_cart = base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
        await expect_error(bridge.execute_cartridge(not_a_cart), 422, "invalid_request")


async def test_scripts_and_map():
    async with GVPIEBridge() as bridge:
        name = f"bridge_test_{os.getpid()}"
        script = await bridge.add_script(name, "RECT 10 10 50 30\nHALT", purpose="Test rectangle rendering")
        try:
            expect(script["name"] == name and script["enabled"] is True, script)
            expect(any(s["name"] == name for s in await bridge.scripts()))
            page = await bridge.infinite_map(limit=5)
            expect("entries" in page and "next_before" in page, page)
            await expect_error(bridge.add_script(name, "HALT"), 422, "invalid_request")
        finally:
            # Leave nothing enabled behind in whatever database this server uses.
            archived = await bridge.archive_script(script["id"])
        expect(archived["enabled"] is False and archived.get("archived_at"), archived)
        expect(all(s["name"] != name for s in await bridge.scripts()))
        expect(any(s["name"] == name for s in await bridge.scripts(archived=True)))


# -- hostile stand-in servers on loopback (port 0): redirects, Retry-After, oversized answers ---------


@contextmanager
def stand_in(handle):
    """A loopback HTTP server whose every GET and POST is ``handle(handler)``; yields its port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 - the standard library's name
            handle(self)

        do_POST = do_GET

        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            pass  # A client that hangs up at its limit is what these tests want.

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def answer(handler, status, body=b"{}", headers=()):
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Connection", "close")
    for name, value in headers:
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


async def test_the_token_never_goes_to_another_host():
    seen = []

    def other(handler):
        seen.append(("other", handler.path, handler.headers.get("Authorization")))
        answer(handler, 200, b'{"status": "healthy"}')

    with stand_in(other) as other_port:
        def first(handler):
            seen.append(("first", handler.path, handler.headers.get("Authorization")))
            if handler.path == "/health":
                # Same origin: the token goes along.
                answer(handler, 302, headers=[("Location", "/same-host")])
            elif handler.path == "/same-host":
                # "localhost" is another host than "127.0.0.1" (and a rebinding page's would be too).
                answer(handler, 302, headers=[("Location", f"http://localhost:{other_port}/elsewhere")])

        with stand_in(first) as port:
            async with GVPIEBridge(f"http://127.0.0.1:{port}", token="s3cret") as bridge:
                health = await bridge.health()
    expect(health == {"status": "healthy"}, health)
    expect(seen == [("first", "/health", "Bearer s3cret"), ("first", "/same-host", "Bearer s3cret"),
                    ("other", "/elsewhere", None)], seen)


async def test_retry_after_in_both_forms():
    expect(parse_retry_after("120") == 120.0)
    expect(parse_retry_after(" 0 ") == 0.0)
    expect(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0, "a past date: no wait")
    now = time.time()
    future = email.utils.formatdate(now + 90, usegmt=True)
    expect(abs(parse_retry_after(future, now=now) - 90.0) <= 1.0, parse_retry_after(future, now=now))
    for garbage in (None, "", "soon", "nan", "Wed, 99 Foo 2015"):
        expect(parse_retry_after(garbage) is None, garbage)
    calls = []

    def busy_then_fine(handler):
        calls.append(handler.path)
        if len(calls) == 1:
            # An HTTP date one second ahead (at most a second's wait here).
            answer(handler, 503, b'{"error": {"kind": "unavailable", "message": "busy"}}',
                   [("Retry-After", email.utils.formatdate(time.time() + 1, usegmt=True))])
        else:
            answer(handler, 200, b'{"status": "healthy"}')

    with stand_in(busy_then_fine) as port:
        async with GVPIEBridge(f"http://127.0.0.1:{port}", retries=1) as bridge:
            expect(await bridge.health() == {"status": "healthy"})
    expect(len(calls) == 2, calls)

    def always_busy(handler):
        answer(handler, 429, b'{"error": {"kind": "overloaded", "message": "later"}}',
               [("Retry-After", "Thu, 01 Jan 1970 00:00:00 GMT")])

    with stand_in(always_busy) as port:
        async with GVPIEBridge(f"http://127.0.0.1:{port}", retries=0) as bridge:
            err = await expect_error(bridge.health(), 429, "overloaded")
    expect(err.retry_after == 0.0, err.retry_after)


async def test_oversized_answers_are_refused():
    limit = 1 << 20

    def streamed(handler):
        # No Content-Length: the body runs until the connection closes.
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Connection", "close")
        handler.end_headers()
        chunk = b" " * (64 << 10)
        try:
            for _ in range((2 * limit) // len(chunk)):
                handler.wfile.write(chunk)
        except OSError:
            pass  # The client stopped reading at its limit.
        handler.close_connection = True

    def announced(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(1 << 30))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True

    def huge_error(handler):
        answer(handler, 500, b"x" * (4 << 20))

    for handle in (streamed, announced):
        with stand_in(handle) as port:
            async with GVPIEBridge(f"http://127.0.0.1:{port}", max_body_bytes=limit) as bridge:
                await expect_error(bridge.health(), 200, "response_too_large")
    with stand_in(huge_error) as port:
        async with GVPIEBridge(f"http://127.0.0.1:{port}", retries=0) as bridge:
            err = await expect_error(bridge.health(), 500, "http_error")
    expect(len(err.message) <= 64 << 10, len(err.message))


async def main():
    tests = [(name, test) for name, test in globals().items() if name.startswith("test_") and callable(test)]
    passed = failed = 0
    for name, test in tests:
        try:
            await test()
            passed += 1
            print(f"ok   {name}")
        except Exception:  # noqa: BLE001 - report every failure and go on.
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
