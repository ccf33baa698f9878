#!/usr/bin/env python3
"""Quick test of the bridge against a running ``gvpie serve``, printing what the seed's sample shows.

The server is ``GVPIE_URL`` (default http://localhost:8081). Exit status 0 when the program ran.
"""

import asyncio
import os
import sys

try:
    from pixel_os import GVPIEBridge
except ImportError:  # Run from a checkout without installing.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from pixel_os import GVPIEBridge


def format_ms(ms: float) -> str:
    return f"{ms:.0f}ms" if ms >= 10 else f"{ms:.2f}ms"


async def main() -> int:
    async with GVPIEBridge() as bridge:
        if not await bridge.check_health():
            print(f"❌ API is not answering at {bridge.base_url}")
            return 1
        print("✅ API is healthy")
        health = await bridge.health()
        # The seed asks for the GPU; on a server without one, let the server choose.
        backend = "GPU" if "gpu" in health.get("backends", []) else "auto"
        result = await bridge.execute_program("TXT 10 10 Hello GPU\nHALT", backend=backend)
        if not result.success:
            print(f"❌ Failed: {result.error.kind if result.error else '?'}: "
                  f"{result.error.message if result.error else ''}")
            return 1
        print("✅ Success!")
        print(f"   Cycles: {result.cycles}")
        print(f"   Backend: {result.backend.upper()}")
        print(f"   Duration: {format_ms(result.duration_ms)}")
        return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
