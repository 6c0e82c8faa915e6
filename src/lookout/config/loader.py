"""Load ``lookout.yaml`` into the model, turning every failure into one line that names the file,
the field path, the line where possible, and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from lookout.config.model import Config

# Field names that would carry a secret inline; the model only accepts their ``*_file`` twins.
SECRET_FIELDS = frozenset(
    {"api_url", "routing_key", "service_key", "auth_password", "password", "token", "bearer_token", "secret"}
)


M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """A configuration problem, already phrased as one line for the user."""


def _line_of(data: Any, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the deepest node of ``loc`` that exists in the YAML document."""
    line: int | None = None
    node = data
    for key in loc:
        if isinstance(node, CommentedMap) and key in node:
            line = node.lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            line = node.lc.item(key)[0] + 1
            node = node[key]
        else:
            break
    return line


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(error: Any, unknown_hint: str) -> str:
    loc = tuple(error["loc"])
    field = loc[-1] if loc else ""
    if error["type"] == "extra_forbidden":
        if field in SECRET_FIELDS:
            return f"secret given inline: remove {field} and set {field}_file to a file that holds it"
        return f"unknown field: remove it or check its spelling{unknown_hint}"
    return str(error["msg"]).removeprefix("Value error, ")


def parse_yaml_model(
    text: str,
    source: str,
    model: type[M],
    error: type[Exception],
    *,
    top_level_hint: str,
    unknown_hint: str = "",
) -> M:
    """Parse ``text`` and validate it as ``model``; raise ``error`` with one line naming the file, the line,
    the field path and the fix. Shared by every YAML file Lookout reads (lookout.yaml, bench scenarios)."""
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise error(f"{where}: invalid YAML: {exc.problem}") from None
    if not isinstance(data, dict):
        raise error(f"{source}: expected a mapping at the top level ({top_level_hint})")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # An inline secret also makes its *_file twin "missing": name the secret, the real mistake.
        first = next((e for e in errors if e["type"] == "extra_forbidden" and e["loc"][-1] in SECRET_FIELDS), errors[0])
        loc = tuple(first["loc"])
        line = _line_of(data, loc)
        where = f"{source}:{line}" if line else source
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise error(f"{where}: {_path(loc)}: {_describe(first, unknown_hint)}{more}") from None


def parse_config(text: str, source: str = "lookout.yaml") -> Config:
    """Parse and validate ``text``; raise :class:`ConfigError` with a one-line message on failure."""
    return parse_yaml_model(
        text,
        source,
        Config,
        ConfigError,
        top_level_hint="see examples/lookout.yaml",
        unknown_hint=" (lookout config schema lists every field)",
    )


def load_config(path: str | Path) -> Config:
    """Read and validate the config file at ``path``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file: pass --config with the path to your lookout.yaml") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    return parse_config(text, str(p))
