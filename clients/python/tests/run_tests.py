#!/usr/bin/env python3
"""Contract tests of the pixel_os bridge against a running ``gvpie serve`` (``GVPIE_URL``).

No test framework needed: every ``test_*`` coroutine below runs in order, and the last line is
``N passed, M failed``; the exit status is 1 when any failed. ``crates/cli/tests`` starts a real
server and runs this file; by hand: ``GVPIE_URL=http://127.0.0.1:8081 python3 tests/run_tests.py``.
"""

import asyncio
import base64
import os
import sys
import traceback

try:
    import pixel_os
except ImportError:  # Run from a checkout without installing.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import pixel_os

from pixel_os import DEFAULT_URL, ExecutionResult, GVPIEBridge, GVPIEError

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
        expect(script["name"] == name and script["enabled"] is True, script)
        expect(any(s["name"] == name for s in await bridge.scripts()))
        page = await bridge.infinite_map(limit=5)
        expect("entries" in page and "next_before" in page, page)
        await expect_error(bridge.add_script(name, "HALT"), 422, "invalid_request")


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
