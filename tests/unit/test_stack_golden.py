"""The generated stack for examples/lookout.yaml equals the golden files byte for byte; a generator change
that is not regenerated with `make golden` (and reviewed) fails here."""

from __future__ import annotations

from tests.golden.regenerate import GOLDEN_DIR, golden_files

HINT = "run `make golden` and review the diff if the change is intended"


def _on_disk() -> dict[str, str]:
    return {
        str(p.relative_to(GOLDEN_DIR)): p.read_text(encoding="utf-8")
        for p in sorted(GOLDEN_DIR.rglob("*"))
        if p.is_file()
    }


def test_golden_files_match_the_generators() -> None:
    generated, golden = golden_files(), _on_disk()
    assert sorted(generated) == sorted(golden), f"files differ: {HINT}"
    drifted = [path for path in generated if generated[path] != golden[path]]
    assert not drifted, f"drift in {drifted}: {HINT}"


def test_generation_is_deterministic() -> None:
    assert golden_files() == golden_files()
