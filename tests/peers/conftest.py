"""tests/peers holds suites written elsewhere, run by ``nox -s peers`` in the CPU environment
(tests/peers/run.py), not by the project's own pytest: nothing here is collected."""

collect_ignore_glob = ["*"]
