"""kerasup's installer: from any Python 3.10+ (standard library only) to a verified environment.

The flow, one small module per step (:mod:`setup.installer.workflow` strings them together):

- :mod:`~setup.installer.cli`: the command line (``python setup/bootstrap.py ...``), one-line
  errors and the documented exit codes.
- :mod:`~setup.installer.target`: per-OS paths (venv python, scripts, site-packages,
  activation), built on :mod:`envs.contract.platforms`.
- :mod:`~setup.installer.pythons`: finding and probing interpreters.
- :mod:`~setup.installer.preflight`: the checks made before anything changes.
- :mod:`~setup.installer.planner`: the survey (files only) and the plan (pure, runs no
  program), with :mod:`~setup.installer.discover` between them: every probe planning needs
  (interpreters, ``nvidia-smi``, the installed-files scan), whose facts the plan shows.
- :mod:`~setup.installer.plan`: the frozen :class:`~setup.installer.plan.Plan` (what will be
  done, as data; ``--dry-run`` prints it, ``--plan-json`` dumps it) and the
  :class:`~setup.installer.plan.Step` kinds, each with one handler in the workflow.
- :mod:`~setup.installer.backends`: uv venv, conda, or in place (Colab), one interface.
- :mod:`~setup.installer.uvtool`: the pinned uv in the tools directory.
- :mod:`~setup.installer.configure`: the site hook (``kerasup.pth``) and keras.json.
- :mod:`~setup.installer.runner`: child processes, streamed output, signals.
- :mod:`~setup.installer.prefixlock`: one setup at a time per prefix.
- :mod:`~setup.installer.payload`: the toolkit that travels to a machine (runtime files).
- :mod:`~setup.installer.offline_cli` and :mod:`setup.installer.bundle`: ``--make-bundle``,
  and ``--from-bundle``, which makes a bundle the source of the same workflow (its steps
  ``check-bundle``, ``unpack-uv`` and ``copy-toolkit`` join the plan).

Nothing here imports anything outside the standard library, ``envs.contract`` and itself
(tests/setup/test_installer_tier.py holds it to that).
"""
