"""Classify stage: which category feeds an item belongs to, and whether to keep it.

Categories start from the source's defaults. Every config category with
`rules` is then checked against the item: an include match adds the category,
an exclude match removes it (exclude beats include and the source default).
A category's `rules` may be several rule sets (an array of tables): the item
joins when any one set takes it, and an exclude match in any set keeps it out.
The source's `keep` / `drop` rules decide whether the item is kept at all.

Patterns are case-insensitive substrings, or regular expressions when written
`re:...` (also case-insensitive, so both forms agree; write `(?-i:...)` for an
exact-case part). Fields are `title`, `body` (content or summary, tags
stripped) and `source` (the source name and the item's 来源 origin).

Rules may also ask about the item's penalty case (`Item.case`): `fine_at_least`
(its fine in yuan is at least N) and `party` (its 当事人 contains one of the
patterns, matched as above). A rule set "includes" an item when every condition
it gives holds: one of the `include` patterns (if any are given) AND the fine
AND the party. An item without a case, or whose case states no fine (or no
party), never meets a case condition. `exclude` still removes the item whatever
else matched. Keep/drop filters use the same conjunction for their include side.

Filters run once, when an item is found: they decide what is stored. Categories
follow the current config: `categories_now` re-derives them for a stored item
(from each of its sources' defaults and today's rules), and publishing uses it
whenever the classification part of the config changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from typing import TYPE_CHECKING

from aggregator.config import Config, Rules, Source
from aggregator.models import Item, StoredItem
from aggregator.normalise.text import html_to_text

if TYPE_CHECKING:
    from aggregator.store import Store

log = logging.getLogger(__name__)

__all__ = [
    "Classification", "categories_now", "classify", "classification_fingerprint", "forget_classification",
    "reclassify_if_needed", "stored_as_item",
]


@dataclass(slots=True)
class Classification:
    categories: tuple[str, ...]  # sorted category slugs
    keep: bool  # False when the source's keep/drop filters reject the item
    reasons: list[str] = field(default_factory=list)  # why, one line per decision


class _Fields:
    """The texts an item is matched on, built lazily and once per item."""

    __slots__ = ("_item", "_source", "_texts", "_folded")

    def __init__(self, item: Item, source: Source) -> None:
        self._item = item
        self._source = source
        self._texts: dict[str, str] = {}
        self._folded: dict[str, str] = {}

    def text(self, name: str) -> str:
        if name not in self._texts:
            self._texts[name] = self._build(name)
        return self._texts[name]

    def folded(self, name: str) -> str:
        if name not in self._folded:
            self._folded[name] = self.text(name).casefold()
        return self._folded[name]

    def _build(self, name: str) -> str:
        item = self._item
        if name == "title":
            return item.title or ""
        if name == "body":
            parts = [item.content_html, item.summary_html]
            text = "\n".join(html_to_text(part) for part in parts if part)
            # Documents read for the item count even when the page's own body is its content.
            return f"{text}\n{item.attachment_text}" if item.attachment_text else text
        if name == "source":
            names = dict.fromkeys(part for part in (self._source.name, item.source, item.origin) if part)
            return "\n".join(names)
        if name == "party":  # matched only by the `party` condition, never by `fields`
            return (item.case.party if item.case else None) or ""
        raise ValueError(f"unknown rule field {name!r}")

    @property
    def fine(self) -> int | None:
        return self._item.case.fine_yuan if self._item.case else None


# A matcher says whether the pattern occurs in one field of the item.
_Matcher = Callable[[_Fields, str], bool]


@lru_cache(maxsize=4096)
def _matcher(pattern: str) -> _Matcher:
    """Compile a pattern once; config patterns are few and reused for every item."""
    if pattern.startswith("re:"):
        regex = re.compile(pattern[3:], re.IGNORECASE)
        return lambda fields, name: regex.search(fields.text(name)) is not None
    needle = pattern.casefold()
    return lambda fields, name: needle in fields.folded(name)


def _first_match(patterns: Iterable[str], rules: Rules, fields: _Fields) -> tuple[str, str] | None:
    """(field, pattern) of the first pattern matching any of the rule's fields."""
    for pattern in patterns:
        match = _matcher(pattern)
        for name in rules.fields:
            if match(fields, name):
                return name, pattern
    return None


def _included(rules: Rules, fields: _Fields) -> str | None:
    """Why the item meets every condition the rules give (include patterns, fine, party);
    None when it misses one, or when the rules give none (an exclude-only table adds nothing)."""
    met: list[str] = []
    if rules.include:
        hit = _first_match(rules.include, rules, fields)
        if hit is None:
            return None
        met.append(f"{hit[0]} matches {hit[1]!r}")
    if rules.fine_at_least is not None:
        fine = fields.fine
        if fine is None or fine < rules.fine_at_least:
            return None
        met.append(f"fine {fine:,} yuan is at least {rules.fine_at_least:,}")
    if rules.party:
        pattern = next((p for p in rules.party if _matcher(p)(fields, "party")), None)
        if pattern is None:
            return None
        met.append(f"party {fields.text('party')!r} matches {pattern!r}")
    return " and ".join(met) or None


def _apply_filters(source: Source, fields: _Fields, reasons: list[str]) -> bool:
    """Source keep/drop filters. Within each, `exclude` is an exception to `include`."""
    keep = source.keep
    if keep is not None:
        if keep.include or keep.case_conditions():
            met = _included(keep, fields)
            if met is None:
                reasons.append("dropped: matches none of the keep rules" if not keep.case_conditions()
                               else "dropped: does not meet every keep rule (include, fine_at_least, party)")
                return False
            reasons.append(f"kept: {met}")
        hit = _first_match(keep.exclude, keep, fields)
        if hit is not None:
            reasons.append(f"dropped: {hit[0]} matches keep-exclude {hit[1]!r}")
            return False
    drop = source.drop
    if drop is not None:
        met = _included(drop, fields)
        if met is not None:
            spared = _first_match(drop.exclude, drop, fields)
            if spared is None:
                reasons.append(f"dropped: {met}")
                return False
            reasons.append(f"not dropped: {spared[0]} matches drop-exclude {spared[1]!r}")
    return True


def classify(item: Item, source: Source, config: Config) -> Classification:
    """Categories of `item` found by `source`, whether to keep it, and why."""
    fields = _Fields(item, source)
    reasons: list[str] = []
    categories = set(source.categories)
    reasons.extend(f"{slug}: source default" for slug in sorted(categories))

    for slug in sorted(config.categories):
        rule_sets = config.categories[slug].rules
        excluded = next(
            (hit for rules in rule_sets if (hit := _first_match(rules.exclude, rules, fields)) is not None), None
        )
        if excluded is not None:
            if slug in categories or any(_included(rules, fields) is not None for rules in rule_sets):
                reasons.append(f"{slug}: excluded by {excluded[0]} matching {excluded[1]!r}")
            categories.discard(slug)
            continue
        # The first set that takes the item says why; the others are not asked.
        included = next((met for rules in rule_sets if (met := _included(rules, fields)) is not None), None)
        if included is not None:
            reasons.append(f"{slug}: {included}")
            categories.add(slug)

    keep = _apply_filters(source, fields, reasons)
    return Classification(categories=tuple(sorted(categories)), keep=keep, reasons=reasons)


@lru_cache(maxsize=65536)  # one per removed source and category set
def _stand_in(name: str, categories: tuple[str, ...]) -> Source:
    return Source.model_construct(name=name, url="http://removed.invalid/", categories=list(categories))


def _source_or_stand_in(
    name: str, config: Config, previous: Sequence[str], by_name: Mapping[str, Source] | None
) -> Source:
    """The configured source; for one removed from the config, a stand-in whose defaults are
    the categories it gave the item before (those still defined): its items keep their feeds."""
    if by_name is not None:
        found = by_name.get(name)
        if found is not None:
            return found
    else:
        try:
            return config.source(name)
        except KeyError:
            pass
    return _stand_in(name, tuple(slug for slug in previous if slug in config.categories))


def categories_now(
    item: Item,
    sources: Sequence[str],
    config: Config,
    previous: Mapping[str, Sequence[str]] | None = None,
    *,
    by_name: Mapping[str, Source] | None = None,
) -> tuple[dict[str, list[str]], list[str]]:
    """Categories of a stored item under the current config, per source that listed it, and why.

    `previous`: the categories each source gave the item last time (used only for sources no
    longer in the config). `by_name`: the config's sources by name, when sorting many items.
    Keep/drop filters are not applied: they decided once whether the item was stored.
    """
    by_source: dict[str, list[str]] = {}
    reasons: list[str] = []
    for name in sources:
        source = _source_or_stand_in(name, config, (previous or {}).get(name, ()), by_name)
        verdict = classify(item, source, config)
        by_source[name] = list(verdict.categories)
        prefix = f"via {name}: " if len(sources) > 1 else ""
        reasons.extend(prefix + reason for reason in verdict.reasons if not reason.startswith(("kept", "dropped", "not dropped")))
    return by_source, reasons


CLASSIFY_VERSION = 1  # bump when classify() itself changes how it decides


def classification_fingerprint(config: Config) -> str:
    """Changes exactly when a category, a rule or a source's default categories change."""
    shape = {
        "version": CLASSIFY_VERSION,
        "categories": {slug: _rules_shape(c.rules) for slug, c in sorted(config.categories.items())},
        "sources": {s.name: sorted(s.categories) for s in config.sources},
    }
    return hashlib.sha256(json.dumps(shape, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


def _rules_shape(rule_sets: Sequence[Rules]) -> object:
    """The rules as the fingerprint sees them. The case keys only when given, and one rule set
    as the table it was before rules could be several: a config that uses neither keeps the
    fingerprint it had (no needless re-sort on upgrade)."""
    shapes = [
        rules.model_dump(exclude=None if rules.case_conditions() else {"fine_at_least", "party"}) for rules in rule_sets
    ]
    if not shapes:
        return None
    return shapes[0] if len(shapes) == 1 else shapes


# Stored items follow the current config: the publish run re-sorts them when it changed.


def stored_as_item(stored: StoredItem) -> Item:
    """A stored item in the shape classify() reads."""
    return Item(
        key=stored.key, source=stored.source, url=stored.url, title=stored.title,
        published=stored.published, updated=stored.updated, origin=stored.origin,
        summary_html=stored.summary_html, content_html=stored.content_html, case=stored.case,
    )


def reclassify_if_needed(config: Config, store: Store) -> int:
    """Re-sort every stored item when categories, rules or source defaults changed since the last time.

    Items are classified when found, so without this a rule added later would
    never reach items already stored; the fingerprint keeps it to real changes.
    """
    fingerprint = classification_fingerprint(config)
    if store.meta(CLASSIFICATION_META) == fingerprint:
        return 0
    reads_body = any(c.rules_read("body") for c in config.categories.values())
    by_name = {source.name: source for source in config.sources}
    changed = store.reclassify(
        lambda stored: categories_now(
            stored_as_item(stored), stored.sources, config, stored.source_categories, by_name=by_name
        )[0],
        with_body=reads_body,
    )
    store.set_meta(CLASSIFICATION_META, fingerprint)
    if changed:
        log.info("categories or rules changed: %d stored item(s) re-sorted", changed)
    return changed


CLASSIFICATION_META = "classification"


def forget_classification(store: Store) -> None:
    """The next publish re-sorts every item (items were classified by a config no longer current)."""
    store.set_meta(CLASSIFICATION_META, None)
