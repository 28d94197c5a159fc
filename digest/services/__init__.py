"""Use cases: each public function owns one transaction (or takes the caller's session).

Grouped by whom they serve, in layers (a package imports only those below it; checked
by import-linter, see ``.importlinter``):

    editorial/   editors: preview and its reasons, pins and holds, test copies
    console/     operators: list management, imports, reports, admin accounts, sample data
    bounces/     bounces and complaints taken in, matched and acted on
    sending/ | ingesting/    the slot pipeline · articles stored from feeds and pushes
    readers/     signup, preferences, unsubscribing, suppressions, topics
    database · limits · metrics    what every use case may share

``database`` is how entry points (web, cli, workers) get a unit of work and the schema:
they never import :mod:`digest.db` themselves.
"""
