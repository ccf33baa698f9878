"""pixel_os: the Python bridge to the gvpie runtime API.

The main type is :class:`GVPIEBridge`, an asyncio client for ``gvpie serve``; its results are
:class:`ExecutionResult` objects and refusals raise :class:`GVPIEError`.
"""

from .gvpie_bridge import (DEFAULT_URL, MAX_BODY_BYTES, ExecutionError, ExecutionResult, GVPIEBridge, GVPIEError,
                           parse_retry_after)

__all__ = ["DEFAULT_URL", "MAX_BODY_BYTES", "ExecutionError", "ExecutionResult", "GVPIEBridge", "GVPIEError",
           "parse_retry_after"]
__version__ = "0.1.0"
