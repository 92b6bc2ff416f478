"""Offline install bundles: build one (``build.make_bundle``, ``--make-bundle``), check one
(``check``: its structure when the installer plans, its contents in the install's
``check-bundle`` step), and open one as the source of an install (``source``, for
``--from-bundle``). Installing is the installer's own workflow: there is no bundle-only
install path. Standard library only, Python 3.10+.

Which wheels a bundle carries: the lock is read by the contract's one pylock reader
(``envs.contract.pylock``), each package's marker is evaluated (``markers``, stdlib, held to
``packaging``) in the target's marker environment from the contract's platform table, and its
wheels are chosen by the contract's tag rules (``envs.contract.wheeltags``) in ``select``;
``uvwheel`` is the table's uv wheel for each platform, ``fetch`` downloads and hash-checks,
``carrier`` writes the bundle's README and entry points, ``manifest`` and ``archive`` its index
and its archive form.
"""
