"""``python -m verify.fleet`` writes its outputs by envs.contract.fileio's rule: a planted link
is refused before any work (exit 2, its target untouched, no other output written); a FIFO is
written to and stays a FIFO."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from envs.contract.errors import ExitCode
from verify.fleet.__main__ import main


def test_a_planted_link_is_refused_and_nothing_is_written(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "fleet.json").symlink_to(victim)
    reports = tmp_path / "reports"
    reports.mkdir()
    code = main([str(reports), "--html", str(tmp_path / "fleet.html"), "--json",
                 str(tmp_path / "fleet.json")])
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--json" in err[0] and "symbolic link" in err[0]
    assert victim.read_text() == "precious" and not (tmp_path / "fleet.html").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_gets_the_summary(tmp_path: Path) -> None:
    fifo = tmp_path / "summary"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    reports = tmp_path / "reports"
    reports.mkdir()
    main([str(reports), "--json", str(fifo)])
    reader.join(30)
    assert got and got[0].lstrip().startswith(b"{") and stat.S_ISFIFO(fifo.lstat().st_mode)
