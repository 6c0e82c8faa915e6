"""What a validator reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Finding:
    """One problem: which check found it, in which file (relative to the stack dir), and what."""

    check: str
    file: str
    message: str

    def line(self) -> str:
        return f"{self.check}: {self.file}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class CheckSkipped(Exception):
    """A validator could not run here (a tool is missing); the message says why and how to fix it."""
