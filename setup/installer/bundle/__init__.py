"""Offline install bundles: build one (``build.make_bundle``, ``--make-bundle``), check one
(``check``: its structure when the installer plans, its contents in the install's
``check-bundle`` step), and open one as the source of an install (``source``, for
``--from-bundle``). Installing is the installer's own workflow: there is no bundle-only
install path. Standard library only, Python 3.10+.
"""
