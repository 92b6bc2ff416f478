"""kerasup verify: is this machine ready for Keras/TensorFlow, and if not, exactly why.

Run it inside the locked environment: ``python -m verify`` (``--help`` for the options).
The checks live in :mod:`verify.checks`, one module and one test function each, run by
pytest through :mod:`verify.plugin`; :mod:`verify.app` turns the results into the human
report, the JSON report (``report.schema.json``) and JUnit XML.
"""

from __future__ import annotations

__all__ = ["SCHEMA_VERSION", "__version__"]

__version__ = "0.1.0"
# Version of the JSON report (report.schema.json); bump only for breaking changes.
# 2: the required ``versions`` block (verify.versions); readers still accept 1.
SCHEMA_VERSION = 2
