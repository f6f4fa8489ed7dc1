"""The catalog: ready-made sources for the columns of China's environment authorities.

Entries are data files shipped inside the package, one per authority
(`aggregator/catalog/<authority>.toml`); each entry is a source template built
on a CMS preset (`presets.py`) plus its metadata: the authority, province,
column name as the site shows it, suggested categories, whether the column
needs a browser, and its evidence: what kind of evidence supports it (a capture
of the real site kept in tests/, a public scraper, a stored copy of the site's
pages, a dated live check by someone, or none beyond the first lead), which one
it is and its date, and how the entry was last checked. A page we wrote
ourselves is never evidence.

A config takes an entry with `[[sources]] catalog = "zj/sthjt/news"`, or a
preset with `preset = "trs"` plus a URL; keys beside them override the
template. `expand` turns such a table into an ordinary source table, which the
config then validates like any other; nothing else in the pipeline knows about
the catalog.
"""

from __future__ import annotations

import copy
import difflib
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from .presets import PRESETS

__all__ = [
    "CATEGORY_TITLES",
    "CatalogError",
    "EVIDENCE_KINDS",
    "Entry",
    "PRESETS",
    "column_name",
    "entries",
    "entry",
    "expand",
    "source_name",
]

# What supports an entry, strongest first. "none": only the first lead (a URL seen in a list of sites).
EVIDENCE_KINDS: dict[str, str] = {
    "capture": "a capture of the real site, kept in tests/ with its provenance",
    "live-check": "a dated HTTP result for the URL, recorded by someone in public",
    "public-scraper": "public scraper code or an RSSHub route that reads the column",
    "stored-page": "a stored copy of the site's pages (or a public document) showing the column in use",
    "none": "nothing beyond the first lead",
}
# How far the evidence goes beyond the source the entry was first built from (the 2026-12 audit's grades).
STRENGTHS = ("independent", "live", "same-source")
EVIDENCE_DATE = re.compile(r"^(\d{4}(-\d{2}(-\d{2})?)?(\.\.\d{4}(-\d{2})?)?|undated)$")
VERIFIED = re.compile(r"^(unverified|(saved page|live poll) \d{4}-\d{2}-\d{2})$")
ID = re.compile(r"^[a-z0-9]+(/[a-z0-9_-]+)+$")
# Where a capture comes from: the public repository file its bytes were taken from, and their hash.
CAPTURE_DIR = "tests/fixtures/catalog/"
CAPTURE_KEYS = ("repository", "path", "commit", "sha256")
_CAPTURE_FORMS = {
    "repository": (re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$"), "owner/name, as GitHub spells it"),
    "path": (re.compile(r"^[^/].*[^/]$"), "the file's path inside that repository"),
    "commit": (re.compile(r"^[0-9a-f]{40}$"), "the 40 hex digits of the commit holding the file"),
    "sha256": (re.compile(r"^[0-9a-f]{64}$"), "the 64 hex digits of the sha256 of the bytes kept in tests/"),
}
# Suggested categories and the feed titles `catalog add` gives them when a config lacks them.
CATEGORY_TITLES: dict[str, str] = {
    "ecology": "生态新闻",
    "enforcement": "生态环境执法",
    "inspection": "生态环境保护督察",
    "policy": "政策文件",
    "notice": "通知公告",
}
_META_KEYS = {"id", "authority", "province", "column", "categories", "needs_browser", "why", "note", "evidence", "preset"}
_FILE_KEYS = {"authority", "province", "site", "entries"}


class CatalogError(Exception):
    """A broken catalog data file, or an unknown entry or preset; the message says which."""


@dataclass(frozen=True)
class Entry:
    """One column of one authority, as a source template."""

    id: str
    authority: str
    province: str
    column: str
    url: str
    preset: str | None
    categories: tuple[str, ...]
    evidence_source: str
    verified: str
    file: str
    evidence_kind: str = "none"
    evidence_date: str = ""  # when the evidence was made (a scraper's date, a capture's, a live check's)
    evidence_strength: str = ""  # independent / live / same-source (empty: not graded)
    needs_browser: bool = False
    why: str = ""
    note: str = ""
    checked_against: str = ""
    capture: dict[str, str] = field(default_factory=dict)  # repository, path, commit, sha256 of a capture
    keys: dict[str, Any] = field(default_factory=dict)  # source keys beside the preset's

    @property
    def kind(self) -> str:
        return str(self.template().get("kind", "auto"))

    def template(self) -> dict[str, Any]:
        """The source table this entry stands for, before a config's overrides."""
        base = copy.deepcopy(PRESETS[self.preset]) if self.preset else {}
        merged = merge(base, self.keys)
        merged["name"] = source_name(self.id)
        merged["url"] = self.url
        merged["categories"] = list(self.categories)
        # Who publishes the column and the name its menus give it: part of the table itself, so
        # a table pasted from `catalog show` (no `catalog` key) keeps them.
        merged["authority"] = authority_label(self)
        if column := column_name(self.column):
            merged["column"] = column
        # A column that needs the browser says how in its data file: `render = "auto"` for a
        # cookie challenge (one browser visit per cookie lifetime), `render = true` for a list
        # built by JavaScript.
        return merged


_BRACKETED = re.compile(r"\s*[(（][^)）]*[)）]")
_CJK = re.compile(r"[\u3400-\u9fff]")


def column_name(shown: str) -> str | None:
    """The name a site's menus give a column, from an entry's `column`: "新闻 (hbzhywpt1157)" -> "新闻".

    Names that are only an id or a path ("col83545", "ywdt/hjyw") name no link, and the home
    page ("首页") is no column to look for: both give None.
    """
    name = _BRACKETED.sub("", shown).strip()
    if not _CJK.search(name) or name == "首页":
        return None
    return name


def source_name(entry_id: str) -> str:
    """The default source name of an entry: its id with / as - (names appear in status, logs and feeds)."""
    return entry_id.replace("/", "-")


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` over `base`; sub-tables (list, article, json, headers…) merge key by key."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _entry(raw: dict[str, Any], defaults: dict[str, Any], file: str) -> Entry:
    where = f"{file}: entry {raw.get('id', '?')!r}"
    for key in ("id", "column", "url"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise CatalogError(f"{where}: `{key}` is missing")
    if not ID.match(raw["id"]):
        raise CatalogError(f"{where}: id must be lower-case path parts such as 'zj/sthjt/news'")
    evidence = raw.get("evidence")
    if not isinstance(evidence, dict) or not evidence.get("source"):
        raise CatalogError(f"{where}: every entry needs [evidence] with `source` (where the URL and selectors come from)")
    verified = evidence.get("verified", "")
    if not isinstance(verified, str) or not VERIFIED.match(verified):
        raise CatalogError(f"{where}: evidence.verified must be 'unverified', 'saved page YYYY-MM-DD' or 'live poll YYYY-MM-DD'")
    unknown = set(evidence) - {"kind", "source", "date", "strength", "verified", "checked_against", *CAPTURE_KEYS}
    if unknown:
        raise CatalogError(f"{where}: unknown evidence key(s) {', '.join(sorted(unknown))}")
    _check_evidence(evidence, where)
    preset = raw.get("preset")
    if preset is not None and preset not in PRESETS:
        raise CatalogError(f"{where}: unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    categories = raw.get("categories", [])
    if not isinstance(categories, list) or not set(categories) <= set(CATEGORY_TITLES):
        raise CatalogError(f"{where}: categories must be among {', '.join(CATEGORY_TITLES)}")
    if raw.get("needs_browser") and not raw.get("why"):
        raise CatalogError(f"{where}: needs_browser = true needs `why`")
    return Entry(
        id=raw["id"],
        authority=raw.get("authority", defaults.get("authority", "")),
        province=raw.get("province", defaults.get("province", "")),
        column=raw["column"],
        url=raw["url"],
        preset=preset,
        categories=tuple(categories),
        evidence_source=evidence["source"],
        verified=verified,
        checked_against=evidence.get("checked_against", ""),
        capture={key: evidence[key] for key in CAPTURE_KEYS if key in evidence},
        evidence_kind=evidence["kind"],
        evidence_date=evidence.get("date", ""),
        evidence_strength=evidence.get("strength", ""),
        needs_browser=bool(raw.get("needs_browser", False)),
        why=raw.get("why", ""),
        note=raw.get("note", ""),
        file=file,
        keys={k: v for k, v in raw.items() if k not in _META_KEYS and k != "url"},
    )


def _check_evidence(evidence: dict[str, Any], where: str) -> None:
    """The evidence table says what kind of evidence it is, and a kind that claims something names it."""
    kind = evidence.get("kind")
    if kind not in EVIDENCE_KINDS:
        shown = f"unknown evidence kind {kind!r}" if kind is not None else "evidence.kind is missing"
        raise CatalogError(f"{where}: {shown}; kinds: {', '.join(EVIDENCE_KINDS)}")
    date = evidence.get("date", "")
    if not isinstance(date, str) or (date and not EVIDENCE_DATE.match(date)):
        raise CatalogError(f"{where}: evidence.date must be YYYY, YYYY-MM or YYYY-MM-DD, a range such as 2022..2025-11, or 'undated', not {date!r}")
    if kind != "none" and not date:
        raise CatalogError(f"{where}: evidence of kind {kind!r} needs `date` (when it was made; 'undated' if it says not)")
    strength = evidence.get("strength", "")
    if strength and strength not in STRENGTHS:
        raise CatalogError(f"{where}: evidence.strength must be one of {', '.join(STRENGTHS)}, not {strength!r}")
    if kind == "capture":
        _check_capture(evidence, where)
    elif set(CAPTURE_KEYS) & set(evidence) or evidence.get("checked_against"):
        # Other kinds name their source in `source`; a file under tests/ backs only a capture.
        given = sorted((set(CAPTURE_KEYS) | {"checked_against"}) & set(evidence))
        raise CatalogError(f"{where}: {', '.join(given)} belong to evidence of kind 'capture' only; name a {kind} source in `source`")
    if kind == "live-check" and not re.match(r"^\d{4}-\d{2}-\d{2}$", date):
        raise CatalogError(f"{where}: a live check has a day: date = \"YYYY-MM-DD\"")


def _check_capture(evidence: dict[str, Any], where: str) -> None:
    """A capture names the file kept in tests/ and where its bytes came from, so anyone can fetch them again."""
    checked = evidence.get("checked_against")
    if not isinstance(checked, str) or not checked:
        raise CatalogError(f"{where}: evidence of kind 'capture' names the captured file in `checked_against` ({CAPTURE_DIR}<entry>/list.html)")
    if not checked.startswith(CAPTURE_DIR) or ".." in checked.split("/"):
        raise CatalogError(f"{where}: evidence.checked_against must be a file under {CAPTURE_DIR}, not {checked!r}")
    for key in CAPTURE_KEYS:
        value = evidence.get(key)
        pattern, meaning = _CAPTURE_FORMS[key]
        if not isinstance(value, str) or not value:
            raise CatalogError(f"{where}: evidence of kind 'capture' needs `{key}` ({meaning})")
        if not pattern.match(value):
            raise CatalogError(f"{where}: evidence.{key} must be {meaning}, not {value!r}")


def load_file(name: str, text: str) -> list[Entry]:
    """The entries of one data file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{name}: not valid TOML: {exc}") from None
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise CatalogError(f"{name}: unknown top-level key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_FILE_KEYS))}")
    if not data.get("authority") or not data.get("province"):
        raise CatalogError(f"{name}: needs `authority` and `province`")
    return [_entry(raw, data, name) for raw in data.get("entries", [])]


@lru_cache(maxsize=1)
def _all() -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    files = sorted(p for p in resources.files(__package__).iterdir() if p.name.endswith(".toml"))
    for path in files:
        for item in load_file(path.name, path.read_text(encoding="utf-8")):
            if item.id in out:
                raise CatalogError(f"{path.name}: id {item.id!r} is also in {out[item.id].file}")
            out[item.id] = item
    return out


def entries() -> list[Entry]:
    """Every entry of the catalog, in file order."""
    return list(_all().values())


def entry(entry_id: str) -> Entry:
    try:
        return _all()[entry_id]
    except KeyError:
        close = difflib.get_close_matches(entry_id, list(_all()), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise CatalogError(f"no catalog entry {entry_id!r}{hint} (`aggregator catalog list` shows them)") from None


# The province of the national authorities (生态环境部, 国家核安全局): never added to their name.
NATIONAL = "国家"


def authority_label(chosen: Entry) -> str:
    """The name a catalog source's entries show: the authority, with its province in brackets
    when the name does not already say it ("南京市生态环境局（江苏）", but "浙江省生态环境厅",
    "重庆市璧山区生态环境局" and "生态环境部" as they are)."""
    authority, province = chosen.authority.strip(), chosen.province.strip()
    if not province or province == NATIONAL or province in authority:
        return authority
    return f"{authority}（{province}）"


def expand(table: dict[str, Any], defined_categories: set[str] | None = None) -> dict[str, Any]:
    """A `[[sources]]` table with `catalog` or `preset`, as the plain source table it stands for.

    Keys in `table` override the template's. An entry's suggested categories are kept
    only where the config defines them (`defined_categories`), unless `categories` is given.
    A catalog source gets its entry's `authority` and `column` (Entry.template) unless the table gives them.
    """
    overrides = {k: v for k, v in table.items() if k not in ("catalog", "preset")}
    if "catalog" in table:
        if "preset" in table:
            raise CatalogError("give `catalog` or `preset`, not both: a catalog entry names its own preset")
        if not isinstance(table["catalog"], str):
            raise CatalogError("`catalog` is an entry id such as \"zj/sthjt/news\"")
        chosen = entry(table["catalog"])
        base = chosen.template()
        if "categories" not in overrides and defined_categories is not None:
            base["categories"] = [c for c in base["categories"] if c in defined_categories]
        out = merge(base, overrides)
        out["catalog"] = chosen.id
        if chosen.preset:
            out["preset"] = chosen.preset
        return out
    name = table["preset"]
    if not isinstance(name, str) or name not in PRESETS:
        raise CatalogError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    out = merge(copy.deepcopy(PRESETS[name]), overrides)
    out["preset"] = name
    return out
