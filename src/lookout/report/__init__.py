"""``lookout report``: SLA, capacity and cost reports read from a running Prometheus.

Layers, one job each: ``prom`` (the HTTP API client), ``period`` (what time range a report covers), ``sla`` /
``capacity`` / ``cost`` (one module per report: queries and figures), ``forecast`` (the trend fit),
``plots`` (matplotlib, Agg backend), ``document`` + ``render`` (HTML, Markdown and JSON), ``cli`` (the commands).
The figures come from the recording rules of ``stack/rules/recording.py``; policy numbers from the config.
"""

from pathlib import Path
from typing import Final

DEFAULT_OUT: Final = Path("reports")
"""Where ``lookout report`` writes (its ``--out``) and where the console, also under ``lookout up``, lists them."""
