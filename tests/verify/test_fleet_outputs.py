"""``python -m verify.fleet`` writes its outputs by envs.contract.fileio's rule: a planted link
is refused before any work (exit 2, its target untouched, no other output written); a FIFO is
written to and stays a FIFO."""

from __future__ import annotations

from pathlib import Path

import pytest

from envs.contract.errors import ExitCode
from verify.fleet.__main__ import main


def test_a_planted_link_is_refused_and_nothing_is_written(tmp_path: Path, plant_link,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    planted = plant_link(tmp_path / "fleet.json")
    reports = tmp_path / "reports"
    reports.mkdir()
    code = main([str(reports), "--html", str(tmp_path / "fleet.html"), "--json",
                 str(planted.link)])
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--json" in err[0] and "symbolic link" in err[0]
    assert planted.untouched() and not (tmp_path / "fleet.html").exists()


def test_a_fifo_gets_the_summary(tmp_path: Path, fifo_reader) -> None:
    reader = fifo_reader(tmp_path / "summary")
    reports = tmp_path / "reports"
    reports.mkdir()
    main([str(reports), "--json", str(reader.path)])
    got = reader.result(30)
    assert got and got.lstrip().startswith(b"{")
