"""Plots through matplotlib's Agg backend with its bundled DejaVu font: no display, no network.
matplotlib is the ``report`` extra; without it :func:`require_matplotlib` names the extra to install.

A report of many services draws many plots of few shapes, so drawing is built for that: each process keeps one
figure per shape (lines and their styles, thresholds, band, axis format) and updates its artists' data instead of
building a figure, axes, ticks and legend again; the layout is fixed (no tight layout, no title or axis-label
placement pass); the value axis has at most five ticks (every tick label is text to lay out and draw); and
:func:`render` spreads a long list of plots over the CPU cores."""

from __future__ import annotations

import io
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import repeat
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from lookout.report.document import Image
from lookout.report.errors import MissingExtra

if TYPE_CHECKING:
    import numpy.typing as npt

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 3.0, 100
"""Every plot is 800 x 300 pixels as PNG."""
FORMATS = ("png", "svg")
_MIME = {"png": "image/png", "svg": "image/svg+xml"}
PARALLEL_FROM = 12
"""Fewer plots than this are drawn in this process: starting workers would cost more than it saves."""


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


@dataclass(frozen=True)
class Plot:
    """One line plot over time: what :func:`render` draws into an :class:`Image`."""

    name: str
    title: str
    ylabel: str
    lines: Sequence[Line]
    thresholds: Sequence[Threshold] = ()
    band: Band | None = None
    percent: bool = False
    legend: Literal["lower left", "best"] = "lower left"
    """Where the legend goes; "best" finds the emptiest corner on every draw (a few ms): for data that may be
    anywhere, such as a forecast rising or falling."""

    @property
    def shape(self) -> tuple[object, ...]:
        """What a figure is built for; plots of one shape differ only in data and text."""
        styles = tuple((line.style, line.marker) for line in self.lines)
        return styles, len(self.thresholds), self.band is not None, self.percent, self.legend


class _Figure:
    """A figure of one :attr:`Plot.shape` whose artists take each plot's data in turn."""

    def __init__(self, plot: Plot) -> None:
        require_matplotlib()
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator, PercentFormatter

        self.figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
        self.canvas = FigureCanvasAgg(self.figure)
        self.figure.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.14)  # fixed: tight_layout costs a render
        ax = self.axes = self.figure.add_subplot()
        self.band: Any = None
        handles: list[Any] = []
        if plot.band is not None:
            self.band = self._fill(plot.band)
            handles.append(self.band)
        self.lines = [
            ax.plot(_dates(line.times), line.values, line.style, marker=line.marker, markersize=3, color=f"C{i}")[0]
            for i, line in enumerate(plot.lines)
        ]
        self.thresholds = [
            ax.axhline(threshold.value, color="crimson", linestyle="--", linewidth=1) for threshold in plot.thresholds
        ]
        handles += [*self.lines, *self.thresholds]
        locator = AutoDateLocator()  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        if plot.percent:
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
        ax.tick_params(labelsize=8)
        # Fixed label places: matplotlib would otherwise measure every tick label on every draw to place them.
        ax.yaxis.set_label_coords(-0.085, 0.5)
        ax.xaxis.set_label_coords(0.5, -0.12)
        ax.grid(True, alpha=0.3)
        self.legend = ax.legend(handles, _labels(plot), fontsize=7, loc=plot.legend)

    def _fill(self, band: Band) -> Any:
        times = _dates(band.times)
        return self.axes.fill_between(times, band.lower, band.upper, alpha=0.25, linewidth=0, color="C0")

    def draw(self, plot: Plot, image_format: str) -> bytes:
        from matplotlib.dates import date2num

        ax = self.axes
        for artist, line in zip(self.lines, plot.lines, strict=True):
            artist.set_data(_dates(line.times), np.asarray(line.values, dtype=np.float64))
        for artist, threshold in zip(self.thresholds, plot.thresholds, strict=True):
            artist.set_ydata([threshold.value, threshold.value])
        for text, label in zip(self.legend.get_texts(), _labels(plot), strict=True):
            text.set_text(label)
        if plot.band is not None:  # replaced before the limits are measured: the old band must not count
            self.band.remove()
            self.band = self._fill(plot.band)
        ax.relim()
        if plot.band is not None:  # matplotlib before 3.10 leaves collections out of relim()
            x = date2num(_dates(plot.band.times))  # type: ignore[no-untyped-call]
            for edge in (plot.band.lower, plot.band.upper):
                ax.update_datalim(np.column_stack((x, np.asarray(edge, dtype=np.float64))))
        ax.autoscale_view()
        ax.set_title(plot.title, fontsize=10, y=1.0, pad=6)  # a fixed place: no title placement pass per draw
        ax.set_ylabel(plot.ylabel, fontsize=9)
        buffer = io.BytesIO()
        if image_format == "png":
            # The figure is opaque: PNG from the canvas as RGB, not savefig's RGBA, is faster and a tenth smaller.
            from PIL import Image as Pixels

            self.canvas.draw()  # type: ignore[no-untyped-call]
            width, height = self.canvas.get_width_height()
            pixels = self.canvas.buffer_rgba()  # type: ignore[no-untyped-call]
            rgba = Pixels.frombuffer("RGBA", (width, height), pixels, "raw", "RGBA", 0, 1)
            rgba.convert("RGB").save(buffer, format="png")
        else:
            self.figure.savefig(buffer, format=image_format, dpi=DPI, metadata={"Date": None, "Creator": None})
        return buffer.getvalue()


def _labels(plot: Plot) -> list[str]:
    """Legend entries in the order :class:`_Figure` adds its artists: band, lines, thresholds."""
    band = [] if plot.band is None else [plot.band.label]
    return [*band, *(line.label for line in plot.lines), *(threshold.label for threshold in plot.thresholds)]


_FIGURES: dict[tuple[object, ...], _Figure] = {}
"""This process's figures by shape (a worker process has its own)."""


def draw(plot: Plot, image_format: str = "png", reuse: bool = True) -> Image:
    """The plot on this process's figure of its shape (``reuse=False``: on a new figure)."""
    figure = _FIGURES.get(plot.shape) if reuse else None
    if figure is None:
        figure = _Figure(plot)
        if reuse:
            _FIGURES[plot.shape] = figure
    data = figure.draw(plot, image_format)
    width, height = int(WIDTH_IN * DPI), int(HEIGHT_IN * DPI)
    return Image(plot.name, data, _MIME[image_format], image_format, plot.title, width, height)


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def render(
    plots: Sequence[Plot], image_format: str = "png", workers: int | None = None, reuse: bool = True
) -> list[Image]:
    """The plots as images, in order. A long list is drawn by one worker process per core (``workers``: how many;
    1 draws here). ``reuse=False`` builds a new figure for every plot: the benchmark's baseline."""
    if workers is None:
        workers = cores() if len(plots) >= PARALLEL_FROM else 1
    workers = min(workers, len(plots))
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [draw(plot, image_format, reuse) for plot in plots]
    # fork: the workers start with matplotlib already imported; a chunk of consecutive plots shares figures.
    chunk = max(1, len(plots) // (workers * 4))
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(draw, plots, repeat(image_format), repeat(reuse), chunksize=chunk))
    except (OSError, BrokenProcessPool):  # no worker processes here (no /dev/shm, a worker killed): draw here
        return [draw(plot, image_format, reuse) for plot in plots]


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
    return draw(Plot(name, title, ylabel, lines, thresholds, band, percent), image_format)


def _dates(times: Sequence[float] | npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Unix seconds as datetime64 (UTC): matplotlib converts these in bulk, unlike datetime objects."""
    return np.asarray(np.round(np.asarray(times, dtype=np.float64) * 1000), dtype="datetime64[ms]")
