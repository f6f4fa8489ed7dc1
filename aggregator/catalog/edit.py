"""Catalog entries as text: the `catalog list` table, `catalog show` TOML, and `catalog add`.

`catalog add` appends to a config file without rewriting a byte of it: the new
tables are built with tomlkit and appended as text, then the whole result is
parsed again (TOML, then the config's own validation) before it replaces the
file, so a config is never left broken or stripped of its comments.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit

from ..config import ConfigError, Source, parse_config
from ..infra.atomicfile import replace_file
from . import CAPTURE_KEYS, CATEGORY_TITLES, CatalogError, Entry, entries, entry, source_name


def width(text: str) -> int:
    """Terminal columns of `text`: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def table(header: list[str], rows: list[list[str]]) -> str:
    """A plain text table, aligned for CJK text too."""
    widths = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(header)]
    lines = ["  ".join(pad(h, w) for h, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(pad(c, w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def select(province: str | None = None, category: str | None = None, search: str | None = None) -> list[Entry]:
    """Entries matching every filter given: province by its name (a part of it: 江 for 浙江, 江苏 …)
    or its id prefix exactly (zj), category exactly, search anywhere."""
    chosen = []
    for item in entries():
        if province and not _of_province(item, province):
            continue
        if category and category not in item.categories:
            continue
        if search:
            haystack = " ".join([item.id, item.authority, item.column, item.url, item.note, item.evidence_source]).lower()
            if search.lower() not in haystack:
                continue
        chosen.append(item)
    return chosen


def _of_province(item: Entry, province: str) -> bool:
    # The prefix only whole: a part of it ("j") would match zj, jl, jx, tj … alike.
    wanted = province.strip()
    return wanted in item.province or wanted.lower() == item.id.split("/")[0]


def list_table(items: list[Entry]) -> str:
    rows = [
        [e.id, e.authority, e.column, e.kind + (f" ({e.preset})" if e.preset else ""), "yes" if e.needs_browser else "-",
         e.evidence_kind, e.verified]
        for e in items
    ]
    return table(["id", "authority", "column", "kind", "needs-browser", "evidence", "verified"], rows)


def evidence_line(item: Entry) -> str:
    """What supports an entry, in one line: kind, strength and date, then the source named."""
    if item.evidence_kind == "none":
        return f"none beyond the first lead: {item.evidence_source}"
    graded = ", ".join(x for x in (item.evidence_strength, item.evidence_date) if x)
    return f"{item.evidence_kind}" + (f" ({graded})" if graded else "") + f": {item.evidence_source}"


def source_dict(source: Source) -> dict[str, Any]:
    """A validated source as the `[[sources]]` table that says exactly it (defaults left out)."""
    data = source.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True)
    data.pop("catalog", None)
    data.pop("preset", None)
    return {"name": source.name, "url": source.url, **{k: v for k, v in data.items() if k not in ("name", "url")}}


def show(item: Entry) -> str:
    """The entry expanded, as TOML a config could hold instead of `catalog = "…"`."""
    source = Source.model_validate(item.template())  # authority and column included, as `catalog = "…"` expands
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"{item.authority} · {item.column}  ({item.province})"))
    doc.add(tomlkit.comment(f"catalog = \"{item.id}\"" + (f", preset {item.preset}" if item.preset else "")))
    doc.add(tomlkit.comment(f"evidence: {evidence_line(item)}"))
    lead = " (a first lead from public sources: not yet checked against the site)" if item.verified == "unverified" else ""
    doc.add(tomlkit.comment(f"verified: {item.verified}" + (f" against {item.checked_against}" if item.checked_against else "") + lead))
    if item.evidence_kind == "capture" and item.capture:
        # Where the captured bytes came from, so anyone can fetch them again and compare the hash.
        provenance = ", ".join(f"{key} {item.capture[key]}" for key in CAPTURE_KEYS if key in item.capture)
        doc.add(tomlkit.comment(f"capture taken from: {provenance}"))
    if item.needs_browser:
        doc.add(tomlkit.comment(f"needs a browser: {item.why}"))
    if item.note:
        doc.add(tomlkit.comment(f"note: {item.note}"))
    aot = tomlkit.aot()
    aot.append(tomlkit.item(source_dict(source)))
    doc["sources"] = aot
    return tomlkit.dumps(doc)


def describe(source: Source) -> str:
    """One line for `check`: where a source came from and what it expanded to."""
    origin = f"catalog {source.catalog}" if source.catalog else f"preset {source.preset}"
    parts = [f"{origin}" + (f" (preset {source.preset})" if source.catalog and source.preset else "") + ":"]
    parts.append(f"kind {source.kind}")
    if source.list_selectors:
        ls = source.list_selectors
        parts.append("list " + " | ".join(s for s in (ls.item, ls.title, ls.link, ls.date) if s))
    if source.json_query:
        parts.append(f"json items {source.json_query.items}" + (f", pages {source.json_query.next_page}" if source.json_query.next_page else ""))
    if source.article and source.article.body:
        parts.append(f"article body {source.article.body}")
    asked = source.json_query or source.request
    if asked and asked.method == "POST":
        parts.append("list asked by POST" + (" with a form" if asked.form else " with a JSON body" if asked.body else ""))
    if source.render:
        parts.append(f"render {'auto' if source.render == 'auto' else 'true'} (needs the browser)")
    if source.fetch_articles:
        parts.append("articles fetched")
    if source.backfill_pages:
        parts.append(f"backfill {source.backfill_pages} pages")
    # What a user checks before subscribing: whom entries are credited to, and the column's name
    # a redesign is followed by.
    if source.authority:
        parts.append(f"credited to {source.authority}")
    if source.column:
        parts.append(f"column {source.column}")
    return " ".join(parts[:2]) + (", " + ", ".join(parts[2:]) if parts[2:] else "")


@dataclass
class Added:
    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # in the config before
    categories: list[str] = field(default_factory=list)  # [categories.X] tables added for suggested categories
    created: bool = False  # the file did not exist: it was written from NEW_CONFIG


# What `catalog add` starts a config that does not exist yet from.
NEW_CONFIG = """\
# Created by `aggregator catalog add`. Every setting is described in README.md
# ("Configuration") and config/example.toml; paths are relative to this file.
[settings]
store = "store.json"     # the items and poll state
output_dir = "feeds"     # where the Atom feeds are written
"""


def add_to_config(path: Path, ids: list[str], how: str | None = None) -> Added:
    """Append `[[sources]] catalog = ID` tables (and missing suggested categories) to the config at `path`.

    `how`: the filters the ids were chosen by (`--category enforcement`), named in the comment
    above the added tables instead of every id.
    """
    created = False
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise ConfigError(f"{path}: no such config file, and no directory {path.parent} to create it in") from None
        # A first config: the entries need nothing else (every setting has a default).
        text, created = NEW_CONFIG, True
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    parse_config(text, path)  # refuse to add to a config that is already broken: the error would be ours
    current = tomlkit.parse(text)
    sources = current.get("sources", [])
    present = {str(t.get("catalog")) for t in sources if "catalog" in t} | {str(t.get("name")) for t in sources if "name" in t}
    defined = set(current.get("categories", {}))
    result = Added(created=created)
    aot = tomlkit.aot()
    new_categories = tomlkit.table(is_super_table=True)
    try:
        chosen = [entry(i) for i in ids]
    except CatalogError as exc:
        raise ConfigError(str(exc)) from None
    for item in chosen:
        if item.id in present or source_name(item.id) in present or item.id in result.added:
            result.already.append(item.id)
            continue
        for slug in item.categories:
            if slug not in defined:
                defined.add(slug)
                category = tomlkit.table()
                category["title"] = CATEGORY_TITLES[slug]
                new_categories[slug] = category
                result.categories.append(slug)
        table_ = tomlkit.table()
        browser = f"; needs a browser: {item.why}" if item.needs_browser else ""
        table_.add(tomlkit.comment(f"{item.authority} · {item.column} ({item.verified}{browser})"))
        table_["catalog"] = item.id
        aot.append(table_)
        result.added.append(item.id)
    if not result.added:
        result.created = False  # nothing to write: no file either
        return result
    fragment = tomlkit.document()
    fragment.add(tomlkit.nl())
    added = f"{how}` ({len(result.added)} entries)" if how else f"` ({', '.join(result.added)})"
    fragment.add(tomlkit.comment(f"Added by `aggregator catalog add{added}; `aggregator catalog show ID` shows one expanded."))
    if result.categories:
        fragment["categories"] = new_categories
    fragment["sources"] = aot
    joined = text + ("" if text.endswith("\n") or not text else "\n") + tomlkit.dumps(fragment)
    try:
        parse_config(joined, path)
    except ConfigError as exc:
        raise ConfigError(f"{path}: not changed; with the entries added it would not load:\n{exc}") from None
    replace_file(path, joined.encode("utf-8"), mode=0o644 if created else path.stat().st_mode & 0o777)
    return result
