"""Wording of alert summaries and descriptions: Alertmanager template fragments and how numbers read."""

from __future__ import annotations

from typing import Final

from lookout import metrics as m

SVC: Final = f"{{{{ $labels.{m.SERVICE} }}}} of tenant {{{{ $labels.{m.TENANT} }}}}"
"""The service an alert is about, as a notification names it."""
TOOL: Final = f"tool {{{{ $labels.{m.TOOL_NAME} }}}} of {SVC}"


def pct(share: float) -> str:
    return f"{round(share * 100, 6):g} %"


def seconds(value: float) -> str:
    return f"{round(value * 1000, 3):g} ms" if value < 1 else f"{value:g} s"
