"""``python -m verify.fleet``: one readiness report for a whole lab, from the JSON reports that
``python -m verify --json`` wrote on each machine (the Ansible role fetches them to one folder,
``<reports_dir>/<inventory_hostname>.json``).

:mod:`verify.fleet.load` reads and validates the reports and the inventory,
:mod:`verify.fleet.aggregate` turns them into one :class:`~verify.fleet.aggregate.Fleet`, and
:mod:`verify.fleet.render` writes it as text, HTML, JUnit XML and JSON.
"""
