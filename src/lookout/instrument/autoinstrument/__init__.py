"""``lookout instrument -- COMMAND``: run a Python MCP server program with Lookout injected.

In the manner of ``opentelemetry-instrument``, the program runs unchanged as a child process with a directory
holding a ``sitecustomize.py`` first on ``PYTHONPATH``. At interpreter start-up that module (chaining any
``sitecustomize`` further down the path) installs an import hook that patches the constructors of the SDK's
``MCPServer`` and lowlevel ``Server`` and of FastMCP 4's ``FastMCP``: the first server the program builds is
instrumented (:func:`lookout.instrument.instrument`) and the management app (``/metrics``, ``/health/*``)
starts on its own port, in a daemon thread with its own event loop, so it serves beside stdio and HTTP
servers alike and before the server's own loop runs.

This module is the launcher side: it reads the settings (command-line options over ``LOOKOUT_*`` over the
``OTEL_*`` variables), resolves COMMAND to a Python program, starts it and watches a status pipe the child
writes to, so a program that builds no server, or a management port that is taken, ends in one line and exit
code 2. It imports nothing of the MCP SDK: the child does that (:mod:`._bootstrap`).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lookout.health.app import DEFAULT_HOST, DEFAULT_PORT
from lookout.instrument._options import check_otlp_endpoint
from lookout.instrument.spans import DEFAULT_TARGET_PER_SECOND

if TYPE_CHECKING:
    from lookout.security.auth import ServerSecurity

SITE_DIR = Path(__file__).resolve().parent / "site"
"""The directory put first on the child's ``PYTHONPATH``: it holds only ``sitecustomize.py``."""

ENV_SERVICE = "LOOKOUT_SERVICE"
ENV_TENANT = "LOOKOUT_TENANT"
ENV_MANAGEMENT = "LOOKOUT_MANAGEMENT"
ENV_LOGS = "LOOKOUT_LOGS"
ENV_TRACES = "LOOKOUT_TRACES"
ENV_OTLP_ENDPOINT = "LOOKOUT_OTLP_ENDPOINT"
ENV_TRACES_PER_SECOND = "LOOKOUT_TRACES_PER_SECOND"
ENV_SERVER_TIMEOUT = "LOOKOUT_SERVER_TIMEOUT"
ENV_AUDIT_FILE = "LOOKOUT_AUDIT_FILE"
ENV_TLS_CERT_FILE = "LOOKOUT_TLS_CERT_FILE"
ENV_TLS_KEY_FILE = "LOOKOUT_TLS_KEY_FILE"
ENV_TLS_CLIENT_CA_FILE = "LOOKOUT_TLS_CLIENT_CA_FILE"
ENV_USERS_FILE = "LOOKOUT_USERS_FILE"
ENV_OPEN_HEALTH = "LOOKOUT_OPEN_HEALTH"
MANAGEMENT_FILE_OPTIONS = (
    (ENV_TLS_CERT_FILE, "--tls-cert-file"),
    (ENV_TLS_KEY_FILE, "--tls-key-file"),
    (ENV_TLS_CLIENT_CA_FILE, "--tls-client-ca-file"),
    (ENV_USERS_FILE, "--users-file"),
)
"""The management port's TLS and logins, by file only (docs/security.md): variable and option of each."""
_OPTION_OF = {
    ENV_LOGS: "--logs",
    ENV_TRACES: "--traces",
    ENV_OTLP_ENDPOINT: "--otlp-endpoint",
    ENV_TRACES_PER_SECOND: "--traces-per-second",
    ENV_SERVER_TIMEOUT: "--server-timeout",
    ENV_OPEN_HEALTH: "--open-health",
}
"""The option of each variable the launcher sets from its command line: an error names both, since the user may
have given either."""
ENV_STATUS_FD = "LOOKOUT_INSTRUMENT_STATUS_FD"
"""Set by the launcher only: the child's end of the status pipe. The child takes it out of its environment,
so processes the server starts in turn are not instrumented."""

DEFAULT_SERVER_TIMEOUT = 30.0
MANAGEMENT_OFF = "off"
LOGS_CHOICES = ("json", "off")
TRACES_CHOICES = ("on", "off")
OPEN_HEALTH_CHOICES = ("on", "off")
ALWAYS_ON_TRACES_PER_SECOND = math.inf
"""``OTEL_TRACES_SAMPLER=always_on``: the adaptive sampler with no budget keeps every trace."""
_SAMPLERS_ON = ("always_on", "parentbased_always_on")
_SAMPLERS_OFF = ("always_off", "parentbased_always_off")
_PYTHON = re.compile(r"python(\d+(\.\d+)*t?)?")  # python3.13t: a free-threaded build
_ISOLATING = frozenset("IES")
"""Interpreter options that keep Lookout out: -I and -E ignore PYTHONPATH (where its site directory is), -S skips
the site module that loads it."""


class LaunchError(Exception):
    """Bad input or a failed start: the message is one line for the command line (exit code 2)."""


@dataclass(frozen=True)
class AutoSettings:
    """What the injected instrumentation does, as the child reads it from its environment."""

    service: str = ""
    tenant: str = ""
    management: tuple[str, int] | None = (DEFAULT_HOST, DEFAULT_PORT)
    json_logs: bool = True
    traces: bool = True
    export_traces: bool = False
    otlp_endpoint: str | None = None
    traces_per_second: float = DEFAULT_TARGET_PER_SECOND
    server_timeout: float = DEFAULT_SERVER_TIMEOUT
    audit_file: str | None = None  # the audit trail of tool calls (docs/security.md); None: none
    management_files: tuple[str | None, str | None, str | None, str | None] = (None, None, None, None)
    """Certificate, key, client CA and users file of the management port (MANAGEMENT_FILE_OPTIONS order)."""
    open_health: bool = True  # /health/live and /health/ready without credentials when users are required

    @property
    def management_address(self) -> str:
        return MANAGEMENT_OFF if self.management is None else f"{self.management[0]}:{self.management[1]}"

    def management_security(self) -> ServerSecurity | None:
        """TLS and logins of the management port (None: plain HTTP, open); raises :class:`LaunchError`."""
        from lookout.security import SecurityError
        from lookout.security.auth import ManagementFiles

        cert, key, ca, users = self.management_files
        cert_field, key_field, ca_field, users_field = (f"{option} ({env})" for env, option in MANAGEMENT_FILE_OPTIONS)
        files = ManagementFiles(cert, key, ca, users, self.open_health, (cert_field, key_field, ca_field, users_field))
        try:
            return files.server_security()
        except SecurityError as exc:
            raise LaunchError(str(exc)) from None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AutoSettings:
        """``LOOKOUT_*`` first, then the OpenTelemetry SDK's variables; raises :class:`LaunchError`."""
        service = env.get(ENV_SERVICE) or env.get("OTEL_SERVICE_NAME", "")
        logs = _choice(ENV_LOGS, env.get(ENV_LOGS, "json"), LOGS_CHOICES)
        # An option or LOOKOUT_* variable decides on its own; only what they leave open is read from OTEL_*
        # (clusters often set OTEL_* for every container).
        exporters = {e.strip() for e in env.get("OTEL_TRACES_EXPORTER", "otlp").lower().split(",") if e.strip()}
        sampler = env.get("OTEL_TRACES_SAMPLER", "").strip().lower()
        if env.get(ENV_TRACES):
            traces = _choice(ENV_TRACES, env[ENV_TRACES], TRACES_CHOICES) == "on"
        else:
            sdk_disabled = env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
            exporter_off = exporters == {"none"} and not env.get(ENV_OTLP_ENDPOINT)  # the endpoint option wins
            traces = not (sdk_disabled or sampler in _SAMPLERS_OFF or exporter_off)
        if env.get(ENV_TRACES_PER_SECOND):
            per_second = _positive(
                ENV_TRACES_PER_SECOND, env[ENV_TRACES_PER_SECOND], DEFAULT_TARGET_PER_SECOND, unit="traces per second"
            )
        else:
            per_second = DEFAULT_TARGET_PER_SECOND
            if sampler in _SAMPLERS_ON:
                per_second = ALWAYS_ON_TRACES_PER_SECOND
            elif sampler and sampler not in _SAMPLERS_OFF and traces:
                raise LaunchError(
                    f"OTEL_TRACES_SAMPLER={sampler} is not supported: use always_on, always_off, "
                    "parentbased_always_on or parentbased_always_off, set a budget with "
                    f"--traces-per-second ({ENV_TRACES_PER_SECOND}) for the adaptive sampler, or --traces off"
                )
        endpoint = env.get(ENV_OTLP_ENDPOINT) or None
        _otlp_endpoint(ENV_OTLP_ENDPOINT, endpoint)
        if endpoint is None and traces:
            otel_variable = next(
                (v for v in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT") if env.get(v)), ""
            )
            otel_endpoint = env.get(otel_variable)
            if otel_endpoint and "otlp" not in exporters and exporters != {"none"}:
                raise LaunchError(
                    f"OTEL_TRACES_EXPORTER={','.join(sorted(exporters))} is not supported: Lookout exports over "
                    "OTLP (otlp) or not at all (none)"
                )
            protocol_variable = next(
                (v for v in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL") if env.get(v)), ""
            )
            protocol = env.get(protocol_variable, "").strip().lower()
            if otel_endpoint and "otlp" in exporters and protocol not in ("", "http/protobuf"):
                raise LaunchError(  # every export would fail, only counted: an endpoint for another protocol
                    f"{protocol_variable}={protocol} is not supported: Lookout exports OTLP over HTTP; set it to "
                    "http/protobuf with the collector's HTTP endpoint (port 4318), or --otlp-endpoint"
                )
            export = "otlp" in exporters and bool(otel_endpoint)
            if export:
                _otlp_endpoint(otel_variable, otel_endpoint)
        else:
            export = traces and endpoint is not None
        return cls(
            service=service,
            tenant=env.get(ENV_TENANT, ""),
            management=parse_management(env.get(ENV_MANAGEMENT, f"{DEFAULT_HOST}:{DEFAULT_PORT}")),
            json_logs=logs == "json",
            traces=traces,
            export_traces=export,
            otlp_endpoint=endpoint if export else None,
            traces_per_second=per_second,
            server_timeout=_positive(
                ENV_SERVER_TIMEOUT, env.get(ENV_SERVER_TIMEOUT), DEFAULT_SERVER_TIMEOUT, zero=True
            ),
            audit_file=env.get(ENV_AUDIT_FILE) or None,
            management_files=(
                env.get(ENV_TLS_CERT_FILE) or None,
                env.get(ENV_TLS_KEY_FILE) or None,
                env.get(ENV_TLS_CLIENT_CA_FILE) or None,
                env.get(ENV_USERS_FILE) or None,
            ),
            open_health=_choice(ENV_OPEN_HEALTH, env.get(ENV_OPEN_HEALTH, "on"), OPEN_HEALTH_CHOICES) == "on",
        )


def _field(name: str) -> str:
    """``--option (VARIABLE)`` for a variable the launcher's options set, else the variable alone."""
    option = _OPTION_OF.get(name)
    return f"{option} ({name})" if option else name


def _otlp_endpoint(name: str, value: str | None) -> None:
    if value is not None:
        try:
            check_otlp_endpoint(value, _field(name))
        except ValueError as exc:
            raise LaunchError(str(exc)) from None


def _choice(name: str, value: str, choices: Sequence[str]) -> str:
    value = value.strip().lower()
    if value not in choices:
        raise LaunchError(f"{_field(name)}: {value!r} is not one of {', '.join(choices)}")
    return value


def _positive(name: str, value: str | None, default: float, zero: bool = False, unit: str = "seconds") -> float:
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not (number > 0 or (zero and number == 0)) or math.isnan(number):
        sign = "non-negative" if zero else "positive"
        raise LaunchError(f"{_field(name)}: {value!r} must be a {sign} number of {unit}")
    return number


def parse_management(value: str) -> tuple[str, int] | None:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6), or ``off``; raises :class:`LaunchError`."""
    value = value.strip()
    if value.lower() == MANAGEMENT_OFF:
        return None
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise LaunchError(f"management address {value!r} is not HOST:PORT (e.g. 127.0.0.1:9464) or off")
    return host, int(port)


# ---------------------------------------------------------------------- COMMAND
def _script_interpreter(path: Path) -> tuple[str, list[str]] | None:
    """The interpreter a script runs under and the options it gives it, or None. From the ``#!`` line
    (``#!/usr/bin/python3 -I``: ``-I``; through ``/usr/bin/env``: none), or from pip's ``/bin/sh`` launcher,
    written when the interpreter's path has a space or is too long for a shebang: ``'''exec' "/path/bin/python"
    "$0" "$@"`` on its second line."""
    try:
        with path.open("rb") as f:
            first, second = f.readline(512), f.readline(4096)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    prefix = b"'''exec' "
    if first.strip() == b"#!/bin/sh" and second.startswith(prefix):
        try:
            words = shlex.split(second[len(prefix) :].decode(errors="replace"))
        except ValueError:
            return None
        return (words[0], []) if words and words[1:3] == ["$0", "$@"] else None
    words = first[2:].decode(errors="replace").split()
    if words and Path(words[0]).name == "env":
        words = [w for w in words[1:] if not w.startswith("-") and "=" not in w][:1]
    return (words[0], words[1:]) if words else None


def _is_python(executable: str) -> bool:
    return _PYTHON.fullmatch(Path(executable).name) is not None


def _refuse_isolation(interpreter_args: Sequence[str], command: str) -> None:
    """A LaunchError for ``python -I/-E/-S ...`` (also as ``-IB``), which would run the program uninstrumented."""
    args = iter(interpreter_args)
    for arg in args:
        if arg == "-" or not arg.startswith("-") or arg.startswith("--"):
            return  # the program (or a long option, --version and the like) starts here
        for position, flag in enumerate(arg[1:], 1):
            if flag in _ISOLATING:
                raise LaunchError(
                    f"{command} runs Python with -{flag}, which ignores PYTHONPATH or the site module that Lookout "
                    "is injected through: run it without that option"
                )
            if flag in "mc":  # -m MODULE, -c CODE: what follows is the program's
                return
            if flag in "WX":  # -W/-X take a value: the rest of this word, or the next one
                if position == len(arg) - 1:
                    next(args, None)
                break


def resolve_command(argv: Sequence[str]) -> list[str]:
    """The argv that runs COMMAND as a Python program: a ``.py`` file runs under this interpreter, ``python
    ...`` and a console script whose shebang names a Python interpreter run as given. Raises
    :class:`LaunchError` for anything else."""
    if not argv:
        raise LaunchError("no COMMAND given: lookout instrument [OPTIONS] -- COMMAND [ARGS...]")
    command, rest = argv[0], list(argv[1:])
    if command.endswith(".py"):
        script = command if Path(command).is_file() or os.sep in command else shutil.which(command)
        if script is None or not Path(script).is_file():
            raise LaunchError(f"{command}: no such file")
        return [sys.executable, script, *rest]
    found = command if os.sep in command else shutil.which(command)
    if found is None or not Path(found).is_file():
        raise LaunchError(f"{command}: command not found")
    if _is_python(found):
        _refuse_isolation(rest, command)
        return [found, *rest]
    shebang = _script_interpreter(Path(found))
    if shebang is not None and _is_python(shebang[0]):
        _refuse_isolation(shebang[1], command)
        return [found, *rest]
    raise LaunchError(
        f"{command} is not a Python program (a console script of a Python package, python ..., or a .py file)"
    )


def child_environment(env: Mapping[str, str], settings_env: Mapping[str, str], status_fd: int) -> dict[str, str]:
    """The child's environment: the site directory first on ``PYTHONPATH`` (keeping what was there), the
    settings, and the status pipe."""
    child = dict(env)
    child.update(settings_env)
    path = [str(SITE_DIR), *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]]
    child["PYTHONPATH"] = os.pathsep.join(path)
    child[ENV_STATUS_FD] = str(status_fd)
    return child


def exit_like(returncode: int) -> int:
    """End this process the way the program ended: by the same signal (a supervisor sees what it would see
    without the launcher), else with its exit code, which is returned for the caller to exit with."""
    if returncode < 0:
        if -returncode != signal.SIGKILL:  # whose action cannot be set (nor needs to be)
            signal.signal(-returncode, signal.SIG_DFL)
        os.kill(os.getpid(), -returncode)
        return 128 - returncode
    return returncode


# ---------------------------------------------------------------------- status pipe
STATUS_SERVER = "server"
STATUS_MANAGEMENT = "management"
STATUS_ERROR = "error"
STATUS_DONE = "done"
"""Lines the child writes: ``server<TAB>framework<TAB>name``, ``management<TAB>url``, ``error<TAB>message``
and ``done`` once it has nothing more to report (then it closes its end)."""


def _stop(popen: subprocess.Popen[bytes]) -> None:
    if popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            popen.terminate()
        try:
            popen.wait(5)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(5)


def _watch(popen: subprocess.Popen[bytes], read_fd: int, timeout: float, command: str) -> str | None:
    """Read the status pipe until the child is done reporting, exits, or the timeout passes without a
    server. Returns the management URL (None when it is off or the child exited); raises LaunchError."""
    deadline = time.monotonic() + timeout if timeout > 0 else math.inf
    buffer = b""
    server_seen = False
    url: str | None = None
    with selectors.DefaultSelector() as selector:
        selector.register(read_fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if not server_seen and remaining <= 0:
                raise LaunchError(
                    f"{command} built no MCP server (MCPServer, lowlevel Server or FastMCP) within {timeout:g} s "
                    "(--server-timeout)"
                )
            wait = min(remaining, 0.5) if not server_seen else 0.5
            if selector.select(wait):
                chunk = os.read(read_fd, 4096)
                if not chunk and server_seen:  # the child finished reporting (or exited)
                    return url
                if not chunk:  # closed before a server: exited, or re-executed itself / closed inherited descriptors
                    selector.unregister(read_fd)
                    if _exited_by(popen, deadline):
                        return None
                    raise LaunchError(
                        f"{command} built no MCP server within {timeout:g} s (--server-timeout), and closed "
                        "Lookout's status pipe: a program that re-executes itself or closes inherited file "
                        "descriptors runs uninstrumented; run the server program itself"
                    )
                buffer += chunk
                *lines, rest = buffer.split(b"\n")
                buffer = rest
                for raw in lines:
                    kind, _, detail = raw.decode(errors="replace").partition("\t")
                    if kind == STATUS_ERROR:
                        raise LaunchError(detail)
                    if kind == STATUS_SERVER:
                        server_seen = True
                    elif kind == STATUS_MANAGEMENT:
                        url = detail
                    elif kind == STATUS_DONE:
                        return url
            elif popen.poll() is not None:
                return None


def _exited_by(popen: subprocess.Popen[bytes], deadline: float) -> bool:
    """Whether the child exits before ``deadline`` (polled: it holds no pipe left to wait on)."""
    while popen.poll() is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(min(remaining, 0.5))
    return True


def _terminal_sends_sigint() -> bool:
    """Whether this process is in the foreground of its terminal: a Ctrl-C there reaches the program too."""
    try:
        tty = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(tty) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(tty)


def _die_with_launcher() -> Callable[[], None] | None:
    """What the child runs before the program on Linux: SIGTERM when the launcher dies, even by SIGKILL (no
    orphaned server holding its ports), and exit at once if the launcher is already gone. None elsewhere."""
    if sys.platform != "linux":
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # found here: the child only calls it
    except (OSError, AttributeError):
        return None
    launcher = os.getpid()
    pr_set_pdeathsig = 1

    def arm() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != launcher:
            os._exit(1)

    return arm


def run(argv: Sequence[str], settings_env: Mapping[str, str], env: Mapping[str, str] | None = None) -> int:
    """Start COMMAND instrumented, watch it build its server, then wait for it; returns its return code
    (negative: the signal that ended it, see :func:`exit_like`).
    Stdin, stdout and stderr are the child's own (stdout is the stdio transport's protocol channel).
    SIGTERM and SIGHUP are passed on, and SIGINT unless the terminal sent it to the child as well."""
    base = dict(os.environ if env is None else env)
    settings = AutoSettings.from_env({**base, **settings_env})
    settings.management_security()  # a bad file ends here, in one line, before the program starts
    command = resolve_command(argv)
    read_fd, write_fd = os.pipe()
    try:
        popen = subprocess.Popen(
            command,
            env=child_environment(base, settings_env, write_fd),
            pass_fds=(write_fd,),
            preexec_fn=_die_with_launcher(),  # safe: the launcher has started no thread
        )
    except OSError as exc:
        os.close(read_fd)
        raise LaunchError(f"{argv[0]}: {exc.strerror or exc}") from None
    finally:
        os.close(write_fd)

    def forward(signum: int, _frame: object) -> None:
        if signum == signal.SIGINT and _terminal_sends_sigint():
            return  # the terminal's Ctrl-C went to the program as well: once is enough
        with contextlib.suppress(ProcessLookupError):
            popen.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    try:
        try:
            url = _watch(popen, read_fd, settings.server_timeout, shlex.join(argv))
        except LaunchError:
            _stop(popen)
            raise
        finally:
            os.close(read_fd)
        if url:
            print(f"lookout: {shlex.join(argv)} instrumented; management app on {url}", file=sys.stderr, flush=True)
        return popen.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
