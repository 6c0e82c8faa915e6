"""What a panel needs to show data, computed from its queries (so it cannot drift from them): the series it reads
(recorded series resolved to the recording rules' inputs) and the Lookout extension series without which it stays
empty. Such a panel tells the on-call engineer so (Grafana's ``noValue``, the console's note) instead of showing
an empty chart that looks like an outage, for a server whose emitter exports only the OpenTelemetry convention."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from lookout import metrics as m
from lookout.stack.grafana.model import Panel, QueryLanguage
from lookout.stack.rules.inputs import Inputs

EMITTERS: Final = {
    m.Source.INSTRUMENTATION: "Lookout instrumentation",
    m.Source.PROBER: "the Lookout prober probing this target",
    m.Source.EXPORTER_SELF: "the lookout exporter",
    m.Source.BENCH: "lookout bench results in the Pushgateway",
    m.Source.HEALTH: "Lookout health checks",
}
"""Who exports a Lookout extension family, as the explanation names it."""


@dataclass(frozen=True)
class Requirement:
    reads: frozenset[str]
    """Every series the panel's PromQL reads, through the recording rules."""
    needs: tuple[str, ...]
    """Lookout extension series without which the panel has no data; ``()``: the convention's series suffice."""

    @property
    def emitters(self) -> tuple[str, ...]:
        sources = {spec.source for name in self.needs if (spec := m.spec_of(name)) is not None}
        return tuple(words for source, words in EMITTERS.items() if source in sources)

    @property
    def explanation(self) -> str:
        """What the panel shows instead of an empty chart; ``""`` when it works on convention metrics alone."""
        if not self.needs:
            return ""
        return (
            f"Needs {', '.join(self.needs)} ({' or '.join(self.emitters)}); "
            "not emitted by OpenTelemetry-convention servers"
        )


def requirement(panel: Panel, inputs: Inputs) -> Requirement:
    """``panel``'s requirement; LogQL queries read logs, not metric series, and need nothing here."""
    exprs = [query.expr for query in panel.queries if query.language is QueryLanguage.PROMQL]
    return Requirement(frozenset().union(*(inputs.reads(expr) for expr in exprs)), inputs.needs(exprs))
