"""A local WATS-compatible server: the embedded default target, the test peer, a report browser.

It implements the part of the WATS REST contract a station client uses (spec §2) over SQLite.
It is a development and test peer, not a WATS replacement (docs/local-server.md).
"""
