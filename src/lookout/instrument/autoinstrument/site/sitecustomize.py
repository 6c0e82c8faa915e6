"""Put first on ``PYTHONPATH`` by ``lookout instrument``: runs any ``sitecustomize`` further down the path
(the one this directory shadows), then injects Lookout (:mod:`lookout.instrument.autoinstrument._bootstrap`)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys


def _chain() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules[__name__] = module  # the chained module is the process's sitecustomize from now on
    spec.loader.exec_module(module)


def _inject() -> None:
    fd = os.environ.get("LOOKOUT_INSTRUMENT_STATUS_FD")
    if fd is None:  # not started by the launcher (e.g. a process the server starts): nothing to do
        return
    try:
        from lookout.instrument.autoinstrument._bootstrap import activate
    except ImportError as exc:
        message = f"error\t{sys.executable} cannot import lookout ({exc}): install mcp-lookout in its environment\n"
        os.write(int(fd), message.encode())
        os._exit(2)
    activate()


_chain()
_inject()
