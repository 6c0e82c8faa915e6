"""Load ``lookout.yaml`` into the model, turning every failure into one line that names the file,
the field path, the line where possible, and the fix."""

from __future__ import annotations

import difflib
import types
import typing
import warnings
from collections.abc import Collection
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from lookout.config.model import ALERT_NAMES, Config
from lookout.config.types import Duration, FieldError, PositiveDuration, field_path

# Bounds on every YAML file Lookout reads, so that no input costs more than a few seconds and ~150 MB (what
# the largest accepted file takes): a lookout.yaml with ten thousand targets is about 1 MiB; no real config
# nests 64 deep; anchors are for reusing a block a few times, not for multiplying it (a "billion laughs" file
# is a few hundred bytes); and Python refuses integers beyond 4300 digits anyway, a 100-digit cap names it.
MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_ALIAS_NODES = 100_000
MAX_INT_DIGITS = 100
_INT_TAG = "tag:yaml.org,2002:int"

# Field names that would carry a secret inline; the model only accepts their ``*_file`` twins.
SECRET_FIELDS = frozenset(
    {"api_url", "routing_key", "service_key", "auth_password", "password", "token", "bearer_token", "secret"}
)


M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """A configuration problem, already phrased as one line for the user."""


class _TextDates(RoundTripConstructor):
    """Dates stay the text they are written as: no field takes a date, and protocol revisions are written like
    one (``protocol: 2025-06-18`` unquoted)."""


_TextDates.add_constructor("tag:yaml.org,2002:timestamp", _TextDates.construct_yaml_str)


class _BoundedComposer(Composer):
    """ruamel's composer, counting what aliases would expand to while the document is composed: the
    loaded data shares aliased nodes, but everything downstream (JSON for a probe, a ConfigMap) copies
    them, so a few hundred bytes could otherwise become gigabytes after `config validate` said ok."""

    def compose_document(self) -> Any:
        self._sizes: dict[int, int] = {}
        self._alias_nodes = 0
        return super().compose_document()

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.parser.check_event(AliasEvent):
            event = self.parser.peek_event()
            node = super().compose_node(parent, index)
            size = self._sizes.get(id(node))
            if size is None:  # the anchored node is still being composed: it contains itself
                raise ComposerError(None, None, f"alias *{event.anchor} refers to itself", event.start_mark)
            self._alias_nodes += size
            if self._alias_nodes > MAX_ALIAS_NODES:
                raise ComposerError(
                    None,
                    None,
                    f"aliases expand to more than {MAX_ALIAS_NODES} nodes (at *{event.anchor}): "
                    "write the values out instead of multiplying anchors",
                    event.start_mark,
                )
            return node
        node = super().compose_node(parent, index)
        self._sizes[id(node)] = self._size_of(node)
        return node

    def _size_of(self, node: Node) -> int:
        if isinstance(node, SequenceNode):
            return 1 + sum(self._sizes.get(id(item), 1) for item in node.value)
        if isinstance(node, MappingNode):
            return 1 + sum(self._sizes.get(id(k), 1) + self._sizes.get(id(v), 1) for k, v in node.value)
        if isinstance(node, ScalarNode) and str(node.tag) == _INT_TAG and len(node.value) > MAX_INT_DIGITS:
            raise ComposerError(
                None,
                None,
                f"a number of {len(node.value)} characters: numbers have at most {MAX_INT_DIGITS} digits "
                "(quote it if it is text)",
                node.start_mark,
            )
        return 1


def decode_yaml_bytes(raw: bytes, source: str, error: type[Exception]) -> str:
    """UTF-8 text of a YAML file, or ``error`` naming the file, the line and how to save it instead."""
    if len(raw) > MAX_FILE_BYTES:
        raise error(f"{source}: larger than the {MAX_FILE_BYTES >> 20} MiB limit: check the path, or split the file")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(raw) > 1 and (raw[0] == 0) != (raw[1] == 0)):
        raise error(f"{source}: encoded as UTF-16 (or UTF-32): save it as UTF-8, e.g. iconv -f UTF-16 -t UTF-8")
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise error(f"{source}:{line}: contains a NUL byte: is it a binary file? YAML files are UTF-8 text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.start + 1].hex()
        raise error(f"{source}:{line}: not UTF-8 (byte 0x{bad}): save the file as UTF-8") from None


def read_yaml_file(path: Path, error: type[Exception], fix: str, what: str = "file") -> str:
    """The text of the YAML file at ``path`` within :data:`MAX_FILE_BYTES`; ``fix`` says what to pass."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise error(f"{path}: no such {what}: {fix}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory: {fix}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    return decode_yaml_bytes(raw, str(path), error)


def _line_of(data: Any, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the deepest node of ``loc`` that exists in the YAML document."""
    line: int | None = None
    node = data
    for key in loc:
        try:
            if isinstance(node, CommentedMap) and key in node:
                line = node.lc.key(key)[0] + 1
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
                line = node.lc.item(key)[0] + 1
                node = node[key]
            else:
                break
        except (TypeError, KeyError, IndexError):  # a node built by a tag (!!omap, !!set) keeps no positions
            break
    return line


def _inner(annotation: Any, part: int | str) -> Any:
    """The type one step into ``annotation`` along ``part`` of an error location (None: unknown)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _inner(args[0], part)
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            found = _inner(arg, part)
            if found is not None:
                return found
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and isinstance(part, str):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    if origin is list and args and isinstance(part, int):
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _annotation_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> Any:
    """The type at ``loc``, an error location within ``model`` (None: unknown)."""
    current: Any = model
    for part in loc:
        current = _inner(current, part)
        if current is None:
            return None
    return current


def _field_names(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The field names (YAML spelling) of the model at ``loc``; empty when ``loc`` leads elsewhere."""
    current = _annotation_at(model, loc)
    while typing.get_origin(current) in (typing.Annotated, typing.Union, types.UnionType):
        current = next((a for a in typing.get_args(current) if isinstance(a, type) and issubclass(a, BaseModel)), None)
    if not (isinstance(current, type) and issubclass(current, BaseModel)):
        return []
    return [field.alias or name for name, field in current.model_fields.items()]


def _suggestion(error: Any, model: type[BaseModel]) -> str | None:
    """The known field an unknown one is probably a misspelling of."""
    loc = tuple(error["loc"])
    if not loc:
        return None
    close = difflib.get_close_matches(str(loc[-1]), _field_names(model, loc[:-1]), n=1)
    return close[0] if close else None


def _describe(error: Any, unknown_hint: str, model: type[BaseModel]) -> str:
    loc = tuple(error["loc"])
    field = loc[-1] if loc else ""
    if error["type"] == "extra_forbidden":
        if field in SECRET_FIELDS:
            return f"secret given inline: remove {field} and set {field}_file to a file that holds it"
        close = _suggestion(error, model)
        if close:
            return f"unknown field: did you mean {close}?"
        return f"unknown field: remove it or check its spelling{unknown_hint}"
    given = error.get("input")
    if error["type"] == "string_type" and isinstance(given, int | float) and not isinstance(given, bool):
        if _is_duration(_annotation_at(model, loc)):
            return f"{given} is a number, not a duration: give its unit, e.g. {given}s or 5m"
        return f"{given} is a number where text is expected: write it in quotes, or as the field says (host:port ...)"
    return str(error["msg"]).removeprefix("Value error, ")


def _is_duration(annotation: Any) -> bool:
    if annotation in (Duration, PositiveDuration):
        return True
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and any(
        _is_duration(arg) for arg in typing.get_args(annotation)
    )


def parse_yaml_model(
    text: str,
    source: str,
    model: type[M],
    error: type[Exception],
    *,
    top_level_hint: str,
    unknown_hint: str = "",
    context: dict[str, Any] | None = None,
) -> M:
    """Parse ``text`` and validate it as ``model``; raise ``error`` with one line naming the file, the line,
    the field path and the fix. Shared by every YAML file Lookout reads (lookout.yaml, bench scenarios)."""
    if len(text) > MAX_FILE_BYTES:
        raise error(f"{source}: larger than the {MAX_FILE_BYTES >> 20} MiB limit: check the path, or split the file")
    yaml = YAML(typ="rt")
    yaml.Composer = _BoundedComposer
    yaml.Constructor = _TextDates
    yaml.max_depth = MAX_DEPTH
    try:
        with warnings.catch_warnings():  # ruamel warns on stderr (a reused anchor): legal YAML, and not one line
            warnings.simplefilter("ignore")
            data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        # One short line: a duplicate key's message would quote both values, however large.
        problem = str(exc.problem).splitlines()[0].partition(" with value ")[0][:200]
        if problem.startswith("maximum depth"):
            problem = f"nested more than {MAX_DEPTH} levels deep: flatten it"
        raise error(f"{where}: invalid YAML: {problem}") from None
    except ReaderError as exc:
        at = text.count("\n", 0, max(exc.position, 0)) + 1
        raise error(f"{source}:{at}: invalid YAML: control character #x{exc.character:02x}: remove it") from None
    except (YAMLError, ValueError, RecursionError) as exc:
        # Constructor errors carry no position (a malformed timestamp, a number Python cannot hold).
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise error(f"{source}: invalid YAML: {reason}") from None
    if not isinstance(data, dict):
        raise error(f"{source}: expected a mapping at the top level ({top_level_hint})")
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        errors = exc.errors()
        # An inline secret makes its *_file twin "missing", a misspelt key its real name: name the real mistake.
        extra = [e for e in errors if e["type"] == "extra_forbidden"]
        first = next(
            (e for e in extra if e["loc"][-1] in SECRET_FIELDS),
            next((e for e in extra if _suggestion(e, model)), errors[0]),
        )
        loc = tuple(first["loc"])
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        located = (first.get("ctx") or {}).get("error")
        if isinstance(located, FieldError):  # found across fields: the line is the field's, not the model's
            line = _line_of(data, loc + located.loc)
            where = f"{source}:{line}" if line else source
            raise error(f"{where}: {located.describe(loc)}{more}") from None
        line = _line_of(data, loc)
        where = f"{source}:{line}" if line else source
        raise error(f"{where}: {field_path(loc)}: {_describe(first, unknown_hint, model)}{more}") from None


def parse_config(text: str, source: str = "lookout.yaml", *, alert_names: Collection[str] | None = None) -> Config:
    """Parse and validate ``text``; raise :class:`ConfigError` with a one-line message on failure. With
    ``alert_names`` (the generators' catalog), ``alerting.alerts`` may override only those alerts."""
    return parse_yaml_model(
        text,
        source,
        Config,
        ConfigError,
        top_level_hint="see examples/lookout.yaml",
        unknown_hint=" (lookout config schema lists every field)",
        context={ALERT_NAMES: frozenset(alert_names)} if alert_names is not None else None,
    )


def load_config(path: str | Path, *, alert_names: Collection[str] | None = None) -> Config:
    """Read and validate the config file at ``path``."""
    p = Path(path)
    text = read_yaml_file(p, ConfigError, "give the path to your lookout.yaml")
    return parse_config(text, str(p), alert_names=alert_names)
