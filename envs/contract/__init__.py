"""kerasup's contract layer: every fact and file format shared by the installer, verify, the
lock step, the noxfile and the tests, defined once.

Standard library only, Python 3.10+, no import-time side effects: the installer imports it
from a bare system Python before any environment exists, verify imports it inside the
environment, the lock step and the tests import it during development.

Modules (one responsibility each):

- :mod:`envs.contract.facts`: variants (the default and the GPU one), supported Pythons, the
  default Python, the repository URL.
- :mod:`envs.contract.platforms`: the one platform table (conda platform names with their
  PEP 508 marker values, wheel-tag architecture and the pinned uv's wheel), the one wheel
  floor (glibc 2.28, macOS 12), the one OS/arch normaliser, and the refused variant x
  platform combinations with reason and fix. The lock step and the bundle builder both read
  it.
- :mod:`envs.contract.wheeltags`: which wheels a platform of that table installs (its
  platform tags, best first, and ``wheel_fits``); standard library, for the bundle builder,
  with the lock step ranking over the same tags.
- :mod:`envs.contract.lockheader`: the ``# kerasup-KEY: value`` header of the pip locks
  (what a lock covers).
- :mod:`envs.contract.layout`: every path under ``<prefix>/share/kerasup``, and
  ``Layout.lock``: a variant's lock files, ``envs/<variant>/<lock>``, in a checkout or a
  toolkit copy.
- :mod:`envs.contract.record`: the install record (``install.json``) and its schema version.
- :mod:`envs.contract.fileio`: atomic writes and exclusive, no-follow backups.
- :mod:`envs.contract.places`: whether a folder can hold an environment (writable by this
  account, programs may run there); setup refuses such a prefix, verify names it.
- :mod:`envs.contract.keras_json`: Keras' folder (``keras_home``: the KERAS_HOME rule) and
  where it reads ``keras.json``, its defaults, and backup-then-atomic rewrite.
- :mod:`envs.contract.flags`: the ``KERASUP_*`` environment variables, parsed one way.
- :mod:`envs.contract.nvidia`: the ``nvidia-smi`` driver probe (where it lives on WSL too).
- :mod:`envs.contract.procs`: children with a deadline; a deadline or an interrupt ends the
  child's whole process group (setup and verify alike).
- :mod:`envs.contract.errors`: the one error base (message + fix) and the exit codes.
- :mod:`envs.contract.piplock`: the one reader of the hashed ``requirements.txt`` (entries
  with their source lines, ``without`` for an in-place install) and the one PEP 503
  normaliser (``canonical_name``).
- :mod:`envs.contract.pylock`: the one reader of ``pylock.toml`` (packages with their marker
  text, every wheel's URL, size and sha256, the lock's ``environments``), for the bundle
  builder, verify and the lock step.
- :mod:`envs.contract.kernel`: the Jupyter kernel's name, display name and registration
  command.
"""
