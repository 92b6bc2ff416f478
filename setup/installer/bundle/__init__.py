"""Offline install bundles: build one (build.make_bundle), check one before anything is
installed (check.check_bundle), and install from one with uv and no network (install.*).

Standard library only, Python 3.10+. ``python -m setup.installer.bundle`` is a small stand-in
CLI (make / check / install) until the installer's own ``--make-bundle`` / ``--from-bundle``
flags call these functions.
"""
