"""Plots through matplotlib's Agg backend with its bundled DejaVu font: no display, no network.
matplotlib is the ``report`` extra; without it :func:`require_matplotlib` names the extra to install."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lookout.report.document import Image
from lookout.report.errors import MissingExtra

if TYPE_CHECKING:
    import numpy.typing as npt

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 3.0, 100
"""Every plot is 800 x 300 pixels as PNG."""
FORMATS = ("png", "svg")
_MIME = {"png": "image/png", "svg": "image/svg+xml"}


def require_matplotlib() -> Any:
    """matplotlib's pyplot on the Agg backend, or one line saying which extra installs it."""
    try:
        import matplotlib
    except ImportError:
        raise MissingExtra("matplotlib is not installed: pip install 'mcp-lookout[report]'") from None
    matplotlib.use("Agg", force=True)
    matplotlib.rcParams["svg.hashsalt"] = "lookout"  # identical input, identical SVG
    import matplotlib.pyplot as plt

    return plt


@dataclass(frozen=True)
class Line:
    label: str
    times: Sequence[float] | npt.NDArray[Any]
    """Unix seconds."""
    values: Sequence[float] | npt.NDArray[Any]
    style: str = "-"
    marker: str = ""


@dataclass(frozen=True)
class Band:
    label: str
    times: Sequence[float] | npt.NDArray[Any]
    lower: Sequence[float] | npt.NDArray[Any]
    upper: Sequence[float] | npt.NDArray[Any]


@dataclass(frozen=True)
class Threshold:
    label: str
    value: float


def line_plot(
    name: str,
    title: str,
    ylabel: str,
    lines: Sequence[Line],
    thresholds: Sequence[Threshold] = (),
    band: Band | None = None,
    image_format: str = "png",
    percent: bool = False,
) -> Image:
    plt = require_matplotlib()
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.ticker import PercentFormatter

    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    try:
        dates = _dates
        if band is not None:
            ax.fill_between(dates(band.times), band.lower, band.upper, alpha=0.25, label=band.label, linewidth=0)
        for line in lines:
            ax.plot(dates(line.times), line.values, line.style, marker=line.marker, markersize=3, label=line.label)
        for threshold in thresholds:
            ax.axhline(threshold.value, color="crimson", linestyle="--", linewidth=1, label=threshold.label)
        locator = AutoDateLocator()  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        if percent:
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
        fig.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.14)  # fixed: tight_layout costs a render
        buffer = io.BytesIO()
        metadata = {"Software": None} if image_format == "png" else {"Date": None, "Creator": None}
        fig.savefig(buffer, format=image_format, dpi=DPI, metadata=metadata)
    finally:
        plt.close(fig)
    width, height = int(WIDTH_IN * DPI), int(HEIGHT_IN * DPI)
    return Image(name, buffer.getvalue(), _MIME[image_format], image_format, title, width, height)


def _dates(times: Sequence[float] | npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Unix seconds as datetime64 (UTC): matplotlib converts these in bulk, unlike datetime objects."""
    return np.asarray(np.round(np.asarray(times, dtype=np.float64) * 1000), dtype="datetime64[ms]")
