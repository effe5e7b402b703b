"""Publish: what a release gives each reader, as files.

Everything here reads a release (`pmm.analysis.release`): the values frozen in it, filtered by the
one policy (`pmm.access.visible`) for the principal asking, and the statistics released to that
principal's audience. Nothing is recomputed from live data, so a report shows exactly what was
audited. Outputs: Vega-Lite charts (`charts`), member profiles, peer-review and global reports
(`reports`, HTML and PDF), the Excel results workbook and CSV downloads (`tables`), SDMX open data
(`sdmx`). User documentation: docs/publish.md.
"""
