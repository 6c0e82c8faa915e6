"""The stack's YAML writer writes shared data out in full: no anchors or aliases in files users read and edit."""

from __future__ import annotations

from lookout.stack.yamlio import dump_yaml


def test_a_dict_used_twice_is_written_out_twice_not_as_an_alias() -> None:
    labels = {"app": "lookout"}
    text = dump_yaml({"metadata": {"labels": labels}, "template": {"labels": labels}})
    assert "&" not in text and "*" not in text
    assert text.count("app: lookout") == 2
