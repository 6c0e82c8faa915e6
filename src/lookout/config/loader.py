"""Load ``lookout.yaml`` into the model, turning every failure into one line that names the file,
the field path, the line where possible, and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from lookout.config.model import Config

# Field names that would carry a secret inline; the model only accepts their ``*_file`` twins.
SECRET_FIELDS = frozenset(
    {"api_url", "routing_key", "service_key", "auth_password", "password", "token", "bearer_token", "secret"}
)


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


def _describe(error: Any) -> str:
    loc = tuple(error["loc"])
    field = loc[-1] if loc else ""
    if error["type"] == "extra_forbidden":
        if field in SECRET_FIELDS:
            return f"secret given inline: remove {field} and set {field}_file to a file that holds it"
        return "unknown field: remove it or check its spelling (lookout config schema lists every field)"
    message = str(error["msg"]).removeprefix("Value error, ")
    return message


def parse_config(text: str, source: str = "lookout.yaml") -> Config:
    """Parse and validate ``text``; raise :class:`ConfigError` with a one-line message on failure."""
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ConfigError(f"{where}: invalid YAML: {exc.problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level (see examples/lookout.yaml)")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # An inline secret also makes its *_file twin "missing": name the secret, the real mistake.
        first = next((e for e in errors if e["type"] == "extra_forbidden" and e["loc"][-1] in SECRET_FIELDS), errors[0])
        loc = tuple(first["loc"])
        line = _line_of(data, loc)
        where = f"{source}:{line}" if line else source
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{where}: {_path(loc)}: {_describe(first)}{more}") from None


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
