"""The generated stack for every input of the golden table equals its golden files byte for byte; a generator
change that is not regenerated with `make golden` (and reviewed) fails here."""

from __future__ import annotations

import pytest

from tests.golden.regenerate import CASES, GoldenCase, golden_files

HINT = "run `make golden` and review the diff if the change is intended"


def _on_disk(case: GoldenCase) -> dict[str, str]:
    return {
        str(p.relative_to(case.directory)): p.read_text(encoding="utf-8")
        for p in sorted(case.directory.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_golden_files_match_the_generators(case: GoldenCase) -> None:
    generated, golden = golden_files(case), _on_disk(case)
    assert sorted(generated) == sorted(golden), f"{case.name}: files differ: {HINT}"
    drifted = [path for path in generated if generated[path] != golden[path]]
    assert not drifted, f"{case.name}: drift in {drifted}: {HINT}"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_generation_is_deterministic(case: GoldenCase) -> None:
    assert golden_files(case) == golden_files(case)


def test_every_case_has_its_own_tree() -> None:
    assert len({case.name for case in CASES}) == len(CASES)
    assert all(case.config.is_file() for case in CASES)
