"""The HTTP client for the gvpie runtime API (``gvpie serve``).

It speaks the API described in ``docs/api.md`` with the standard library only: each request
runs ``urllib`` in a worker thread (``asyncio.to_thread``), so the bridge is usable from
asyncio code without third-party packages. It does not start or manage a server.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

DEFAULT_URL = "http://localhost:8081"


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
    ``token`` from the argument, else ``GVPIE_TOKEN``.
    """

    def __init__(self, base_url: Optional[str] = None, *, token: Optional[str] = None,
                 timeout: float = 30.0, retries: int = 2):
        self.base_url = (base_url or os.environ.get("GVPIE_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else (os.environ.get("GVPIE_TOKEN") or None)
        self.timeout = timeout
        self.retries = retries

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
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
                if response.headers.get_content_type() == "application/json":
                    return json.loads(payload)
                return payload
        except urllib.error.HTTPError as err:
            payload = err.read()
            retry_after = err.headers.get("Retry-After") if err.headers else None
            try:
                detail = json.loads(payload)["error"]
            except (ValueError, KeyError, TypeError):
                detail = {"kind": "http_error", "message": payload.decode("utf-8", "replace") or str(err)}
            raise GVPIEError(err.code, detail.get("kind", "http_error"), detail.get("message", ""),
                             float(retry_after) if retry_after else None,
                             detail.get("line"), detail.get("column")) from None

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
                await asyncio.sleep(min(err.retry_after or 1.0, 30.0))

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

    # -- memory -------------------------------------------------------------------------------

    async def scripts(self) -> List[Dict[str, Any]]:
        """Every improvement script (without code)."""
        return (await self.request("GET", "/api/scripts"))["scripts"]

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
