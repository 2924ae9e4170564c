"""Dossier tracking: import of one-stop-shop exports, private status lookup, statistics, charts.

Modules: ``importer`` (CSV/JSON import), ``fields`` (statuses, channels, dates, codes),
``privacy`` (phone hashing, name masking), ``lookup`` (status answers), ``lookup_guard`` (limits on lookups),
``stats`` (reports), ``chart`` (PNG), ``demo`` (seeded demo data), ``cli`` (click commands).
"""
