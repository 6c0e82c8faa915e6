"""OTLP/HTTP export to a test receiver that decodes the protobuf; an endpoint that is down or slow
never reaches a client and never grows memory without bound."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest
from mcp.client.client import Client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lookout.demo.server import build_server
from lookout.instrument import instrument
from lookout.instrument.tracing import configure_tracing
from tests.instrument_support import ALWAYS_OFF, Otel, otel, serve_http
from tests.support import LOOPBACK, free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def tracing() -> Iterator[Otel]:
    o = otel()
    yield o
    o.reset(ALWAYS_OFF)


def receiver(received: list[ExportTraceServiceRequest], delay: float = 0.0) -> Starlette:
    async def traces(request: Request) -> Response:
        assert request.headers["content-type"] == "application/x-protobuf"
        if delay:
            await anyio.sleep(delay)
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.body())
        received.append(message)
        return Response(b"", media_type="application/x-protobuf")

    return Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])


def decoded_spans(received: list[ExportTraceServiceRequest]) -> list[tuple[str, dict[str, object], str]]:
    out = []
    for message in received:
        for rs in message.resource_spans:
            service = next(a.value.string_value for a in rs.resource.attributes if a.key == "service.name")
            for ss in rs.scope_spans:
                for span in ss.spans:
                    attrs: dict[str, object] = {}
                    for a in span.attributes:
                        v = a.value
                        attrs[a.key] = v.string_value if v.HasField("string_value") else v.int_value
                    out.append((span.name, attrs, service))
    return out


async def test_spans_reach_an_otlp_http_receiver(tracing: Otel) -> None:
    received: list[ExportTraceServiceRequest] = []
    async with serve_http(receiver(received)) as base:
        setup = configure_tracing(service="demo-svc", endpoint=f"{base}/v1/traces", set_global=False)
        tracing.reset(setup.sampler, setup.processor)  # the SDK's span goes through Lookout's pipeline
        server = build_server()
        instrument(server, CollectorRegistry())
        async with Client(server, mode="legacy") as client:
            await client.call_tool("echo", {"text": "x"})
        with setup.provider.get_tracer("test").start_as_current_span("own provider"):
            pass
        assert await anyio.to_thread.run_sync(setup.processor.force_flush)
    spans = decoded_spans(received)
    own = next(s for s in spans if s[0] == "own provider")
    assert own[2] == "demo-svc"  # the resource of the provider Lookout configured
    echo = next(s for s in spans if s[0] == "tools/call echo")  # the SDK's span, through Lookout's pipeline
    assert echo[1]["mcp.method.name"] == "tools/call" and echo[1]["network.transport"] == "pipe"
    setup.shutdown()


@pytest.mark.parametrize("endpoint_state", ["down", "slow"])
async def test_a_down_or_slow_endpoint_never_hurts_the_server(tracing: Otel, endpoint_state: str) -> None:
    received: list[ExportTraceServiceRequest] = []
    server = build_server()
    instrument(server, CollectorRegistry())

    async def exercise(endpoint: str) -> None:
        setup = configure_tracing(
            endpoint=endpoint, set_global=False, export_timeout=0.5, max_queue_size=64, target_per_second=1e6
        )
        tracing.reset(setup.sampler, setup.processor)
        async with Client(server, mode="2026-07-28") as client:
            for i in range(300):
                result = await client.call_tool("echo", {"text": str(i)})
                assert not result.is_error  # no export failure reaches a client
                queue = setup.processor.inner._batch_processor._queue
                assert len(queue) <= 64  # bounded: spans beyond the queue are dropped
        tracing.reset(ALWAYS_OFF)
        await anyio.to_thread.run_sync(setup.shutdown)

    if endpoint_state == "down":
        await exercise(f"http://{LOOPBACK}:{free_port()}/v1/traces")
    else:
        async with serve_http(receiver(received, delay=2.0)) as base:
            await exercise(f"{base}/v1/traces")
