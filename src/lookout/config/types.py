"""Types every part of ``lookout.yaml`` builds on: the frozen base model, durations, names, labels, priorities.

The model (``model.py``) and the prober's section (``probe.py``) both import from here, so neither needs the
other to define its fields.
"""

from __future__ import annotations

import os
import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from lookout import metrics as m
from lookout.protocol import Transport

__all__ = [
    "Duration",
    "FrozenModel",
    "Labels",
    "Name",
    "PositiveDuration",
    "Priority",
    "Transport",
    "check_regex",
    "check_regexes",
    "duration_seconds",
]

_DURATION_RE = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
_UNIT_SECONDS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
_UNITS = tuple(_UNIT_SECONDS)  # in the order of _DURATION_RE's groups


def _check_duration(value: str) -> str:
    if duration_seconds(value) > _MAX_DURATION_SECONDS:
        raise ValueError(f"{value!r} is longer than Prometheus can hold (about 292 years)")
    return value


_MAX_DURATION_SECONDS = (2**63 - 1) / 1e9
"""Prometheus keeps durations as int64 nanoseconds and refuses to start with a longer one."""

Duration = Annotated[str, AfterValidator(_check_duration)]
"""A Prometheus duration string (``30s``, ``5m``, ``1h30m``, ``15d``)."""


def duration_seconds(value: str) -> float:
    """Seconds in a Prometheus duration string; a ValueError naming the value for anything else (``1.5h``,
    ``2h30x``, ``1h 30m``: read loosely, they would mean something the writer did not)."""
    found = _DURATION_RE.match(value)
    if not value or found is None:
        raise ValueError(f"{value!r} is not a Prometheus duration: write e.g. 30s, 5m, 1h30m, 15d")
    amounts = found.groups()[1::2]  # the digits of each unit's group, None where the unit is absent
    return float(sum(int(amount) * _UNIT_SECONDS[unit] for unit, amount in zip(_UNITS, amounts, strict=True) if amount))


def _check_positive(value: str) -> str:
    if duration_seconds(value) <= 0:
        raise ValueError(f"{value!r} is zero: an interval or timeout must be positive, e.g. 15s")
    return value


PositiveDuration = Annotated[Duration, AfterValidator(_check_positive)]
"""A duration that something waits between runs or for an answer: zero would spin or never wait."""


_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$")


def _check_name(value: str) -> str:
    if not _NAME_RE.match(value):
        raise ValueError(
            f"{value!r} is not a name: use lower-case letters, digits, - and _ (at most 63), e.g. api-gateway"
        )
    return value


Name = Annotated[str, AfterValidator(_check_name)]
"""Lower-case name usable as a label value, file name and Kubernetes object name."""
_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_RESERVED_LABELS = {m.TENANT, m.SERVICE, m.INSTANCE, m.JOB, m.PRIORITY, m.SEVERITY, m.REPLICA}


def _check_labels(labels: dict[str, str]) -> dict[str, str]:
    for key in labels:
        if not _LABEL_NAME_RE.match(key) or key.startswith("__"):
            raise ValueError(f"{key!r} is not a valid Prometheus label name")
        if key in _RESERVED_LABELS:
            raise ValueError(f"label {key!r} is set by Lookout; choose another name")
    return labels


Labels = Annotated[dict[str, str], AfterValidator(_check_labels)]


def check_regex(where: str, pattern: str) -> str:
    """The pattern if it compiles, else a line naming where it stands, the pattern and what is wrong with it."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{where} {pattern!r} is not a valid regex: {exc}") from None
    return pattern


def check_regexes(field: str, patterns: list[str]) -> list[str]:
    for pattern in patterns:
        check_regex(f"{field}:", pattern)
    return patterns


_SECRET_HEADER = re.compile(r"authorization|cookie|token|secret|passw(or)?d|api[-_]?key|auth", re.IGNORECASE)


def refuse_secret_headers(headers: dict[str, str], fix: str) -> dict[str, str]:
    """The headers unchanged, or a ValueError naming the first whose name carries a credential
    (``Authorization``, ``X-Auth-Token``, ``Api-Key``, ``Cookie`` ...) and *fix*, where the file for it goes:
    such values belong in files, not in lookout.yaml."""
    for name in headers:
        if _SECRET_HEADER.search(name) is not None:
            raise ValueError(f"header {name!r} carries a secret: remove it and use {fix}")
    return headers


def field_path(loc: tuple[int | str, ...]) -> str:
    """A location in a YAML file as its author reads it: ``tenants[0].targets[1].name``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


class FieldError(ValueError):
    """A mistake a model validator finds across fields (a duplicate name, an unknown reference), located at
    ``loc`` within the model it validates: the loader names that field's line, not the model's first one."""

    def __init__(self, loc: tuple[int | str, ...], message: str) -> None:
        self.loc, self.message = loc, message
        super().__init__(self.describe())

    def describe(self, within: tuple[int | str, ...] = ()) -> str:
        """The message after the field's path from the top of the file (``within``: where the validated model
        is); a message that starts with that path already (it names two fields) is kept as it is."""
        path = field_path(within + self.loc)
        return self.message if self.message.startswith(path) else f"{path}: {self.message}"


class FrozenModel(BaseModel):
    """Base of every config model: unknown fields are refused by name, and a loaded config never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Priority(StrEnum):
    """Alert priorities: P0 production down ... P3 maintenance."""

    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


def absolute_path(path: str | None) -> str | None:
    """A file named relative to the working directory (like the data dir), made absolute: Prometheus and
    Alertmanager resolve relative paths against their own config file's directory instead, and the containers of
    the compose and Kubernetes outputs get each file mounted at the absolute path lookout.yaml names."""
    return None if path is None else os.path.abspath(os.path.expanduser(path))
