"""The demo server's management endpoint: fault injection at runtime.

Mounted beside ``/metrics`` and ``/health`` on the management port (loopback by default):
``GET /faults`` shows the faults, ``PUT /faults/{tool}`` sets one (``*`` for every tool; the body is a
:class:`~lookout.demo.faults.Fault`, every field optional: ``error_ratio``, ``kind`` (``exception`` by default,
or ``tool_error``), ``latency_ms``, ``hang``), ``DELETE /faults`` (or ``/faults/{tool}``) clears them.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lookout.demo.faults import Fault, FaultInjector


def fault_routes(injector: FaultInjector) -> list[Route]:
    def _dump() -> JSONResponse:
        return JSONResponse({tool: fault.model_dump() for tool, fault in sorted(injector.snapshot().items())})

    async def show(request: Request) -> Response:
        return _dump()

    async def put(request: Request) -> Response:
        tool = request.path_params["tool"]
        unknown = injector.unknown(tool)
        if unknown is not None:
            return JSONResponse({"error": unknown}, status_code=400)
        try:
            fault = Fault.model_validate_json(await request.body())
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "body"
            return JSONResponse({"error": f"{field}: {first['msg']}"}, status_code=400)
        injector.set(tool, fault)
        return _dump()

    async def delete(request: Request) -> Response:
        injector.clear(request.path_params.get("tool"))
        return _dump()

    return [
        Route("/faults", show, methods=["GET"]),
        Route("/faults", delete, methods=["DELETE"]),
        Route("/faults/{tool}", put, methods=["PUT"]),
        Route("/faults/{tool}", delete, methods=["DELETE"]),
    ]
