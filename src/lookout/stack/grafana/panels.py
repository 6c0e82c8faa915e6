"""The vocabulary of dashboard panels: panel kinds, the shared policy lines and the typed :func:`panel` constructor
every dashboard module builds its panels with."""

from __future__ import annotations

from typing import Final

from lookout import metrics as m
from lookout.stack.grafana.model import Panel, PanelKind, Query
from lookout.stack.rules import recording as rec

TS, STAT, HEATMAP, TABLE, LOGS = (
    PanelKind.TIMESERIES,
    PanelKind.STAT,
    PanelKind.HEATMAP,
    PanelKind.TABLE,
    PanelKind.LOGS,
)
SVC: Final = (m.SERVICE,)
ANY: Final = 1
"""Line of count panels where a single one (a target down, an alert firing) is already too many."""
LIMIT: Final = 1
"""Line of share-of-a-limit panels: 1 is the limit itself."""
BY_SERVICE: Final = ", ".join(rec.SERVICE_LABELS)
BY_INSTANCE: Final = ", ".join(rec.INSTANCE_LABELS)


def panel(
    title: str,
    kind: PanelKind,
    unit: str,
    *queries: Query,
    description: str = "",
    width: int = 12,
    height: int = 8,
    policy_line: float | None = None,
    good_above: bool = False,
    min_value: float | None = None,
    max_value: float | None = None,
) -> Panel:
    """A panel showing ``queries`` in ``unit`` (a Grafana unit id); ``policy_line`` draws the threshold it is judged
    by (red above it, or below it when ``good_above``)."""
    return Panel(
        title,
        kind,
        unit,
        queries,
        description=description,
        width=width,
        height=height,
        policy_line=policy_line,
        good_above=good_above,
        min_value=min_value,
        max_value=max_value,
    )
