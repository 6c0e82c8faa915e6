"""The demo MCP server: a handful of realistic tools, resources and prompts on the official SDK,
with fault injection. Lookout's examples, tests and benchmarks all watch this server."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any, TypeVar

from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError

from lookout import __version__
from lookout.demo.faults import TOOL_ERROR, FaultInjector, InjectedFault

_Tool = TypeVar("_Tool", bound=Callable[..., Any])

_DOCS = {
    "getting-started": "Install Lookout with `make run`; it starts Prometheus, Alertmanager and this server.",
    "alerts": "Alerts carry a priority P0-P3; P0 pages, P3 opens a ticket during business hours.",
    "slo": "The availability SLO is 99.99 % over 30 days; burn-rate alerts page before it is spent.",
    "probes": "The prober speaks MCP to any server, in any language, and reports probe_success.",
}
_WEATHER = {"berlin": (7.5, "overcast"), "lisbon": (17.0, "sunny"), "tokyo": (12.0, "rain"), "austin": (21.0, "clear")}
_BINARY_OPS: dict[type[ast.operator], Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def _evaluate(node: ast.AST) -> float:
    """Arithmetic only: numbers and + - * / % ** with parentheses; anything else is refused."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_OPS:
        right = _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise ToolError("exponent too large")
        return float(_BINARY_OPS[type(node.op)](_evaluate(node.left), right))
    raise ToolError("only numbers and + - * / % ** ( ) are allowed")


def build_server(
    faults: FaultInjector | None = None,
    name: str = "lookout-demo",
    *,
    token_verifier: TokenVerifier | None = None,
    auth: AuthSettings | None = None,
) -> MCPServer:
    """Build the demo server; ``faults`` decides which calls fail, slow down or hang. With ``token_verifier`` and
    ``auth`` its HTTP app is a protected resource: the SDK's bearer authentication in front of every request."""
    injector = faults or FaultInjector()
    server: MCPServer = MCPServer(
        name=name,
        version=__version__,
        instructions="A demo server watched by Lookout.",
        token_verifier=token_verifier,
        auth=auth,
    )

    def tool(description: str) -> Callable[[_Tool], _Tool]:
        """``server.tool`` that also tells the fault injector the tool's name: a fault for a name the server
        lacks (a typo) is refused instead of injecting nothing while the drill waits for an alert."""

        def register(fn: _Tool) -> _Tool:
            injector.tools.add(fn.__name__)
            server.tool(description=description)(fn)
            return fn

        return register

    async def guard(tool: str) -> None:
        try:
            await injector.apply(tool)
        except InjectedFault as exc:
            if exc.kind == TOOL_ERROR:
                raise ToolError(str(exc)) from None
            raise RuntimeError(str(exc)) from None  # a crash: the SDK answers isError, the message withheld

    @tool(description="Search the documentation; returns matching page slugs with a snippet.")
    async def search_docs(query: str, limit: int = 3) -> list[dict[str, str]]:
        await guard("search_docs")
        words = query.lower().split()
        hits = [
            {"slug": slug, "snippet": text[:80]}
            for slug, text in _DOCS.items()
            if any(w in text.lower() or w in slug for w in words)
        ]
        return hits[: max(1, min(limit, 10))]

    @tool(description="Current weather for a city (canned data).")
    async def get_weather(city: str) -> dict[str, Any]:
        await guard("get_weather")
        known = _WEATHER.get(city.lower())
        if known is None:
            raise ToolError(f"unknown city {city!r}; try one of {', '.join(sorted(_WEATHER))}")
        return {"city": city, "temperature_c": known[0], "conditions": known[1]}

    @tool(description="Evaluate an arithmetic expression such as (2 + 3) * 4.")
    async def calculate(expression: str) -> float:
        await guard("calculate")
        if len(expression) > 200:
            raise ToolError("expression longer than 200 characters")
        try:
            tree = ast.parse(expression, mode="eval")
        except SyntaxError:
            raise ToolError("not an arithmetic expression") from None
        try:
            return _evaluate(tree)
        except ZeroDivisionError:
            raise ToolError("division by zero") from None

    @tool(description="Generate a report on a topic; takes longer for more pages.")
    async def generate_report(topic: str, pages: int = 1) -> str:
        await guard("generate_report")
        import anyio

        pages = max(1, min(pages, 20))
        await anyio.sleep(0.005 * pages)
        return "\n".join(f"# {topic} — page {i + 1}\n" + _DOCS["slo"] for i in range(pages))

    @tool(description="Echo the text back (a no-op tool for benchmarks).")
    async def echo(text: str) -> str:
        await guard("echo")
        return text

    @server.resource("docs://index", description="Index of documentation pages.", mime_type="text/plain")
    def docs_index() -> str:
        return "\n".join(sorted(_DOCS))

    @server.resource("docs://pages/{slug}", description="One documentation page.", mime_type="text/markdown")
    def docs_page(slug: str) -> str:
        if slug not in _DOCS:
            raise ResourceNotFoundError(f"no page {slug!r}")
        return _DOCS[slug]

    @server.resource("config://server", description="Server facts.", mime_type="application/json")
    def server_config() -> dict[str, str]:
        return {"name": name, "version": __version__}

    @server.prompt(description="Summarize a text in a given number of sentences.")
    def summarize(text: str, sentences: str = "3") -> str:
        return f"Summarize the following in {sentences} sentences:\n\n{text}"

    @server.prompt(description="Review code for bugs and style.")
    def code_review(language: str, code: str) -> str:
        return f"Review this {language} code. List bugs first, then style issues.\n\n```{language}\n{code}\n```"

    return server
