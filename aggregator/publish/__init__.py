"""Publish stage: what turns the store into files readers fetch.

`atom.py`: Atom feeds per category plus `all` (feedgen) and the OPML list,
written atomically and byte-identical when nothing changed. `health.py`:
per-source health (what `status` and `/status.json` show) and the separate
`health.atom` feed of broken or emptied sources. `websub.py`: tells a WebSub hub
which feeds a publish changed. `cases.py`: a penalty decision as Atom extension
elements and the table that leads the entry's content (read back by serve).

The names others import from `aggregator.publish` are those of `atom.py`,
re-exported here; health and WebSub are imported from their modules.
"""

from .atom import FeedSpec, feed_id, feed_url, publish, render_atom, render_opml, write_atomic

__all__ = ["FeedSpec", "feed_id", "feed_url", "publish", "render_atom", "render_opml", "write_atomic"]
