"""Serve stage: the published files over HTTP, for feed readers and for people.

`server.py`: the aiohttp server on the daemon's loop (feeds with ETag/304 and
gzip, `/status` and `/status.json`, a fixed table of paths). `pages.py`: the
readable pages (Jinja2, templates in `templates/`) and the parser of published
Atom files they and the JSON Feed are built from. `jsonfeed.py`: `/<slug>.json`,
the same entries as JSON Feed 1.1, rendered on request from the `.atom` file.

The names others import from `aggregator.serve` are those of `server.py`,
re-exported here.
"""

from .server import FeedServer, PortUnavailable

__all__ = ["FeedServer", "PortUnavailable"]
