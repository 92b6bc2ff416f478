"""kerasup's installer: from any Python 3.10+ (standard library only) to a verified environment.

The flow, one small module per step (:mod:`setup.installer.workflow` strings them together):

- :mod:`~setup.installer.cli`: the command line (``python setup/bootstrap.py ...``), one-line
  errors and the documented exit codes.
- :mod:`~setup.installer.target`: per-OS paths (venv python, scripts, site-packages,
  activation), built on :mod:`envs.contract.platforms`.
- :mod:`~setup.installer.pythons`: finding and probing interpreters.
- :mod:`~setup.installer.preflight`: the checks made before anything changes.
- :mod:`~setup.installer.plan`: the frozen :class:`~setup.installer.plan.Plan` (what will be
  done, as data; ``--dry-run`` prints it, ``--plan-json`` dumps it).
- :mod:`~setup.installer.backends`: uv venv, conda, or in place (Colab), one interface.
- :mod:`~setup.installer.uvtool`: the pinned uv in the tools directory.
- :mod:`~setup.installer.configure`: the site hook (``kerasup.pth``) and keras.json.
- :mod:`~setup.installer.runner`: child processes, streamed output, signals.
- :mod:`~setup.installer.prefixlock`: one setup at a time per prefix.

Nothing here imports anything outside the standard library, ``envs.contract`` and itself
(tests/setup/test_installer_tier.py holds it to that).
"""
