"""The HTTP client for the gvpie runtime API (``gvpie serve``).

It speaks the API described in ``docs/api.md`` with the standard library only: each request
runs ``urllib`` in a worker thread (``asyncio.to_thread``), so the bridge is usable from
asyncio code without third-party packages. It does not start or manage a server.

Hardening: the bearer token is never sent to another origin (a redirect to another scheme, host
or port drops it); answers are read with a size limit (``max_body_bytes``, default
:data:`MAX_BODY_BYTES`); ``Retry-After`` is understood in both of its forms (seconds and an
HTTP date).
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import math
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

DEFAULT_URL = "http://localhost:8081"

#: The largest answer body read by default (128 MiB: a batch of large RGBA images fits); larger is refused.
MAX_BODY_BYTES = 128 << 20

#: The most of an error answer's body that is read.
MAX_ERROR_BODY_BYTES = 64 << 10

#: The longest wait a ``Retry-After`` can ask for before a retry, in seconds.
MAX_RETRY_WAIT = 30.0


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds (``"120"``) or an HTTP date
    (``"Wed, 21 Oct 2015 07:28:00 GMT"``, a past date is 0). ``None`` when absent or not understood."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def _origin(url: str):
    parts = urllib.parse.urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


class _SameOriginAuthRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects like urllib, but never carries ``Authorization`` to another origin."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(newurl) != _origin(req.full_url):
            for name in list(new.headers):
                if name.lower() == "authorization":
                    del new.headers[name]
            for name in list(new.unredirected_hdrs):
                if name.lower() == "authorization":
                    del new.unredirected_hdrs[name]
        return new


def _read_limited(response: Any, limit: int) -> Optional[bytes]:
    """At most ``limit`` bytes of ``response``; ``None`` when it has (or announces) more."""
    length = response.headers.get("Content-Length") if response.headers else None
    if length is not None:
        try:
            if int(length) > limit:
                return None
        except ValueError:
            pass
    payload = response.read(limit + 1)
    return None if len(payload) > limit else payload


class GVPIEError(Exception):
    """A request the server refused, in its one error shape ``{"error": {kind, message}}``."""

    def __init__(self, status: int, kind: str, message: str, retry_after: Optional[float] = None,
                 line: Optional[int] = None, column: Optional[int] = None):
        super().__init__(f"{status} {kind}: {message}")
        self.status = status
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        self.line = line
        self.column = column


@dataclass
class ExecutionError:
    """Why a program failed: ``parse``, a trap kind, or ``time_limit``."""

    kind: str
    message: str
    line: Optional[int] = None
    column: Optional[int] = None
    diagnostics: List[Dict[str, Any]] = field(default_factory=list)


@dataclass
class ExecutionResult:
    """The result of one program, as every gvpie front end reports it."""

    success: bool
    cycles: int
    backend: str
    duration_ms: float
    error: Optional[ExecutionError] = None
    width: int = 0
    height: int = 0
    image: Optional[bytes] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "ExecutionResult":
        error = data.get("error")
        image = data.get("image")
        return cls(
            success=bool(data["success"]),
            cycles=int(data["cycles"]),
            backend=str(data["backend"]),
            duration_ms=float(data["duration_ms"]),
            error=ExecutionError(
                kind=error["kind"],
                message=error["message"],
                line=error.get("line"),
                column=error.get("column"),
                diagnostics=error.get("diagnostics", []),
            ) if error else None,
            width=int(data.get("width", 0)),
            height=int(data.get("height", 0)),
            image=base64.b64decode(image) if image else None,
            raw=data,
        )


class GVPIEBridge:
    """An asyncio client for ``gvpie serve``.

    ``base_url`` comes from the argument, else ``GVPIE_URL``, else ``http://localhost:8081``;
    ``token`` from the argument, else ``GVPIE_TOKEN``. An answer larger than ``max_body_bytes``
    raises :class:`GVPIEError` of kind ``response_too_large`` without being read whole.
    """

    def __init__(self, base_url: Optional[str] = None, *, token: Optional[str] = None,
                 timeout: float = 30.0, retries: int = 2, max_body_bytes: int = MAX_BODY_BYTES):
        self.base_url = (base_url or os.environ.get("GVPIE_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else (os.environ.get("GVPIE_TOKEN") or None)
        self.timeout = timeout
        self.retries = retries
        self.max_body_bytes = max_body_bytes
        self._opener = urllib.request.build_opener(_SameOriginAuthRedirects())

    async def __aenter__(self) -> "GVPIEBridge":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        return None

    # -- plumbing -----------------------------------------------------------------------------

    def _request_sync(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                payload = _read_limited(response, self.max_body_bytes)
                if payload is None:
                    raise GVPIEError(response.status, "response_too_large",
                                     f"the answer is larger than {self.max_body_bytes} bytes; not read")
                if response.headers.get_content_type() == "application/json":
                    return json.loads(payload)
                return payload
        except urllib.error.HTTPError as err:
            payload = _read_limited(err, MAX_ERROR_BODY_BYTES) or b""
            retry_after = parse_retry_after(err.headers.get("Retry-After") if err.headers else None)
            try:
                detail = json.loads(payload)["error"]
                if not isinstance(detail, dict):
                    raise TypeError("error is not an object")
            except (ValueError, KeyError, TypeError):
                detail = {"kind": "http_error", "message": payload.decode("utf-8", "replace") or str(err)}
            raise GVPIEError(err.code, detail.get("kind", "http_error"), detail.get("message", ""),
                             retry_after, detail.get("line"), detail.get("column")) from None

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        """Sends one request; retries refusals under load (429, 503) after ``Retry-After``."""
        attempt = 0
        while True:
            try:
                return await asyncio.to_thread(self._request_sync, method, path, body)
            except GVPIEError as err:
                if err.status not in (429, 503) or attempt >= self.retries:
                    raise
                attempt += 1
                wait = 1.0 if err.retry_after is None else err.retry_after
                await asyncio.sleep(min(wait, MAX_RETRY_WAIT))

    # -- system -------------------------------------------------------------------------------

    async def health(self) -> Dict[str, Any]:
        """``GET /health``: status, version, backends, uptime."""
        return await self.request("GET", "/health")

    async def check_health(self) -> bool:
        """True when the server answers ``/health``."""
        try:
            return (await self.health()).get("status") == "healthy"
        except (GVPIEError, OSError):
            return False

    # -- execution ----------------------------------------------------------------------------

    @staticmethod
    def _options(backend: str, width: Optional[int], height: Optional[int], budget: Optional[int],
                 image: Optional[str]) -> Dict[str, Any]:
        options: Dict[str, Any] = {"backend": backend}
        for key, value in (("width", width), ("height", height), ("budget", budget), ("image", image)):
            if value is not None:
                options[key] = value
        return options

    async def execute_program(self, code: str, backend: str = "auto", *, width: Optional[int] = None,
                              height: Optional[int] = None, budget: Optional[int] = None,
                              image: Optional[str] = None) -> ExecutionResult:
        """Runs PXL source. ``backend`` is ``cpu``, ``gpu`` or ``auto`` (any case)."""
        body = {"code": code, **self._options(backend, width, height, budget, image)}
        return ExecutionResult.from_json(await self.request("POST", "/api/execute", body))

    async def execute_cartridge(self, png: bytes, backend: str = "auto", *, width: Optional[int] = None,
                                height: Optional[int] = None, budget: Optional[int] = None,
                                image: Optional[str] = None) -> ExecutionResult:
        """Runs the program a cartridge PNG carries."""
        body = {"cartridge": base64.b64encode(png).decode("ascii"),
                **self._options(backend, width, height, budget, image)}
        return ExecutionResult.from_json(await self.request("POST", "/api/execute", body))

    async def execute_batch(self, programs: Sequence[str], backend: str = "auto", *, width: Optional[int] = None,
                            height: Optional[int] = None, budget: Optional[int] = None,
                            image: Optional[str] = None) -> List[ExecutionResult]:
        """Runs many programs with the same settings; results in the same order."""
        body = {"programs": [{"code": code} for code in programs],
                **self._options(backend, width, height, budget, image)}
        answer = await self.request("POST", "/api/execute/batch", body)
        return [ExecutionResult.from_json(item) for item in answer["results"]]

    async def compile(self, description: str, *, width: Optional[int] = None,
                      height: Optional[int] = None) -> Dict[str, Any]:
        """Compiles a plain-English description into a PXL program (``POST /api/compile``).

        Returns ``{"path", "description", "source", "width", "height", "objects", "cycles",
        "image" (base64 PNG), "iteration"}``; a description the compiler cannot read raises
        ``GVPIEError`` 422 ``invalid_request`` naming the word (see docs/compile.md).
        """
        body: Dict[str, Any] = {"description": description}
        if width is not None:
            body["width"] = width
        if height is not None:
            body["height"] = height
        return await self.request("POST", "/api/compile", body)

    # -- memory -------------------------------------------------------------------------------

    async def scripts(self, archived: bool = False) -> List[Dict[str, Any]]:
        """Every improvement script (without code); archived ones only with ``archived=True``."""
        path = "/api/scripts?archived=true" if archived else "/api/scripts"
        return (await self.request("GET", path))["scripts"]

    async def archive_script(self, script_id: int) -> Dict[str, Any]:
        """Archives a script (a soft delete): disabled for good and hidden from ``scripts()``; its
        executions stay in the infinite map, replayable. Returns the archived script."""
        return await self.request("DELETE", f"/api/scripts/{int(script_id)}")

    async def add_script(self, name: str, code: str, purpose: Optional[str] = None, lang: str = "pixel",
                         enabled: bool = True) -> Dict[str, Any]:
        """Adds an improvement script; the daemon runs it in its next cycle."""
        body = {"name": name, "code": code, "lang": lang, "enabled": enabled}
        if purpose is not None:
            body["purpose"] = purpose
        return await self.request("POST", "/api/scripts", body)

    async def infinite_map(self, *, script: Optional[str] = None, goal: Optional[int] = None,
                           since_ms: Optional[int] = None, until_ms: Optional[int] = None,
                           before: Optional[int] = None, limit: int = 50) -> Dict[str, Any]:
        """One page of the infinite map, newest first: ``{"entries", "next_before"}``."""
        query = {"script": script, "goal": goal, "since": since_ms, "until": until_ms, "before": before,
                 "limit": limit}
        text = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        return await self.request("GET", f"/api/map?{text}")

    async def lineage(self, iteration: int, depth: int = 20) -> Dict[str, Any]:
        """Ancestors and descendants of an iteration."""
        return await self.request("GET", f"/api/map/{int(iteration)}/lineage?depth={int(depth)}")
