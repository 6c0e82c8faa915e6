"""Benchmark scenarios: a weighted mix of MCP operations plus the load shape, from YAML or from flags.

Every failure becomes a :class:`ScenarioError` phrased as one line naming the file, line and field.
"""

from __future__ import annotations

import hashlib
import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from pydantic import Field, ValidationError, model_validator

from lookout.config.loader import parse_yaml_model, read_yaml_file
from lookout.config.types import Duration, Name, PositiveDuration, duration_seconds
from lookout.config.types import FrozenModel as _Model

DEFAULT_DURATION_S = 10.0


class ScenarioError(Exception):
    """A scenario problem, already phrased as one line for the user."""


class Operation(_Model):
    """One entry of the mix: a tool call, or any other JSON-RPC method with its params."""

    tool: str | None = Field(default=None, description="Tool to call (tools/call).")
    arguments: dict[str, Any] = Field(default_factory=dict, description="Arguments of the tool call.")
    method: str | None = Field(default=None, description="JSON-RPC method other than tools/call, e.g. tools/list.")
    params: dict[str, Any] | None = Field(default=None, description="Params of the method.")
    weight: float = Field(default=1.0, gt=0, description="Relative share of requests.")
    name: str | None = Field(default=None, description="Label in the results (default: the tool or method).")

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.tool is None) == (self.method is None):
            raise ValueError("give exactly one of tool (with arguments) or method (with params)")
        if self.method is not None and self.arguments:
            raise ValueError("arguments belong to a tool; a method takes params")
        if self.method == "tools/call":
            raise ValueError("write tools/call as `tool: NAME` with `arguments:`")
        return self

    @property
    def label(self) -> str:
        return self.name or self.tool or self.method or ""


class LoadModel(StrEnum):
    CLOSED = "closed"  # N clients, each sends its next request when the previous one returns
    OPEN = "open"  # requests start on a fixed schedule, whether or not earlier ones returned


class Load(_Model):
    """How hard to drive the server; ``lookout bench`` flags override each field."""

    model: LoadModel = LoadModel.CLOSED
    concurrency: int = Field(default=8, ge=1, le=10_000, description="Closed: clients. Open: max requests in flight.")
    rate: float | None = Field(default=None, gt=0, le=1_000_000, description="Open loop: requests per second.")
    # Zero would measure nothing yet save a complete run that passes the gate.
    duration: PositiveDuration | None = Field(
        default=None, description="Measured time, after the warm-up (default 10s, or unbounded when requests is set)."
    )
    requests: int | None = Field(default=None, ge=1, description="Stop after this many measured requests.")
    warmup: Duration = Field(default="1s", description="Excluded from the results.")
    timeout: PositiveDuration = Field(default="10s", description="A request still open after this counts as a timeout.")
    connections: int = Field(default=4, ge=1, le=1_000, description="Open loop: MCP sessions shared by requests.")

    @model_validator(mode="after")
    def _rate_for_open(self) -> Self:
        if self.model is LoadModel.OPEN and self.rate is None:
            raise ValueError("the open model needs rate (requests per second)")
        return self

    @property
    def duration_s(self) -> float:
        if self.duration is not None:
            return duration_seconds(self.duration)
        return math.inf if self.requests is not None else DEFAULT_DURATION_S

    @property
    def warmup_s(self) -> float:
        return duration_seconds(self.warmup)

    @property
    def timeout_s(self) -> float:
        return duration_seconds(self.timeout)


class Scenario(_Model):
    name: Name = Field(default="default", description="Name of the scenario (a label in history and Prometheus).")
    operations: list[Operation] = Field(min_length=1, description="The weighted mix of requests.")
    load: Load = Field(default_factory=Load)

    def fingerprint(self) -> str:
        """Hash of everything that shapes the results: runs compare only within one fingerprint."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def with_load(self, **overrides: Any) -> Scenario:
        """A copy whose load fields are replaced by the given (non-None) values, validated again."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        if not changes:
            return self
        try:
            load = Load.model_validate({**self.load.model_dump(), **changes})
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "model"  # the one cross-field rule: open needs rate
            raise ScenarioError(f"--{field}: {str(first['msg']).removeprefix('Value error, ')}") from None
        return self.model_copy(update={"load": load})


DEFAULT_OPERATION = Operation(tool="echo", arguments={"text": "hello"})


def parse_scenario(text: str, source: str = "scenario.yaml") -> Scenario:
    return parse_yaml_model(text, source, Scenario, ScenarioError, top_level_hint="with `operations:`")


def load_scenario(path: Path) -> Scenario:
    text = read_yaml_file(path, ScenarioError, "pass --scenario with the path to a YAML file", "scenario file")
    return parse_scenario(text, str(path))


def operations_from_flags(tools: list[str], methods: list[str]) -> list[Operation]:
    """``--tool NAME`` or ``--tool 'NAME={"json": "arguments"}'``, ``--method tools/list``; equal weights."""
    operations: list[Operation] = []
    for spec in tools:
        name, sep, raw = spec.partition("=")
        arguments: Any = {}
        if sep:
            try:
                arguments = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ScenarioError(
                    f"--tool {spec!r}: arguments are not JSON ({exc.msg}): write NAME='{{...}}'"
                ) from None
            if not isinstance(arguments, dict):
                raise ScenarioError(f"--tool {spec!r}: arguments must be a JSON object: write NAME='{{...}}'")
        if not name:
            raise ScenarioError(f"--tool {spec!r}: missing the tool name: write NAME or NAME='{{...}}'")
        operations.append(Operation(tool=name, arguments=arguments))
    for method in methods:
        try:
            operations.append(Operation(method=method))
        except ValidationError as exc:
            message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            raise ScenarioError(f"--method {method!r}: {message}") from None
    return operations


def scenario_from_options(
    file: Path | None, tools: list[str], methods: list[str], overrides: dict[str, Any]
) -> Scenario:
    """The scenario of ``lookout bench``'s options: a scenario file or --tool/--method flags (default: the demo
    server's echo), with the load options given on the command line overriding the file's."""
    if file is not None:
        scenario = load_scenario(file)
        if tools or methods:
            raise ScenarioError("give the mix either in --scenario or with --tool/--method, not both")
    else:
        scenario = Scenario(operations=operations_from_flags(tools, methods) or [DEFAULT_OPERATION])
    if overrides.get("rate") is not None and overrides.get("model") is None:
        overrides = {**overrides, "model": LoadModel.OPEN}  # a rate only makes sense on a schedule
    return scenario.with_load(**overrides)
