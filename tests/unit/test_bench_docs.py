"""A full `make bench` run rewrites the results table in the benchmark docs, and only it."""

from pathlib import Path

import pytest

from bench import run


def test_the_docs_table_is_replaced_between_its_markers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs" / "benchmarks.md"
    docs.parent.mkdir()
    docs.write_text(f"intro\n{run.TABLE_START}old table\n{run.TABLE_END}\nnotes\n")
    monkeypatch.setattr(run, "DOCS", docs)

    run._write_docs_table(run.markdown("2026-12-02T00:00:00Z", []))

    text = docs.read_text()
    assert text.startswith(f"intro\n{run.TABLE_START}Measured 2026-12-02T00:00:00Z")
    assert "old table" not in text
    assert text.endswith(f"| --- | --- | --- | --- | --- | --- | --- |\n{run.TABLE_END}\nnotes\n")
