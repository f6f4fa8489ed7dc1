"""`try`: fetch one page and print what would be extracted from it, and which selectors matched."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from .common import EXIT_OK, EXIT_SOURCES_FAILED, _load

# The rest of the package is imported inside the commands (see __init__.py).
if TYPE_CHECKING:
    from ..config import Config


def _try_source(args: argparse.Namespace, config: Config):  # noqa: ANN202 - returns config.Source
    from pydantic import ValidationError

    from ..config import ConfigError, Source

    if args.source:
        if config.path is None:
            raise ConfigError("--source needs --config CONFIG")
        try:
            configured = config.source(args.source)
        except KeyError:
            raise ConfigError(f"{config.path}: no source named {args.source!r}") from None
        # The source exactly as configured (its selectors, JSON paths, network options); a URL given replaces its own.
        if args.render:
            configured = configured.model_copy(update={"render": True})
        return configured.model_copy(update={"url": args.url}) if args.url else configured
    if not args.url:
        raise ConfigError("give a URL, or --config CONFIG --source NAME")
    fields: dict[str, object] = {"name": "try", "url": args.url, "kind": args.kind}
    if args.kind == "json":
        fields["json"] = {
            k: v
            for k, v in {"items": args.items, "title": args.title, "link": args.link, "date": args.date, "summary": args.summary}.items()
            if v
        }
    elif args.item:
        fields["list"] = {
            k: v
            for k, v in {"item": args.item, "title": args.title, "link": args.link, "date": args.date, "summary": args.summary}.items()
            if v
        }
    article = {k: v for k, v in {"title": args.title if args.article else None, "date": args.date if args.article else None,
                                   "body": args.body, "source": args.origin, "author": args.author}.items() if v}
    if article:
        fields["article"] = article
    for key in ("encoding", "timezone"):
        if getattr(args, key):
            fields[key] = getattr(args, key)
    if args.no_robots:
        fields["respect_robots"] = False
    if args.render:
        fields["render"] = True
    if args.wait_for:
        fields["wait_for"] = args.wait_for
    try:
        return Source.model_validate(fields)
    except ValidationError as exc:
        problems = "\n".join(f"  --{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        raise ConfigError(f"bad options:\n{problems}") from None


def _head_and_tail(text: str, head: int = 600, tail: int = 200) -> str:
    """The start and the end of a body: where junk creeps in is the end as often as the start."""
    if len(text) <= head + tail + 40:
        return text
    return f"{text[:head]}\n  … [{len(text) - head - tail:,} characters] …\n{text[-tail:]}"


def cmd_try(args: argparse.Namespace) -> int:
    import json

    from ..config import Config, ConfigError
    from ..fetch import fetcher_for
    from ..models import SourceError
    from ..preview import preview

    if args.explain and not args.config:
        raise ConfigError("--explain shows which categories each item lands in: give the config with --config CONFIG")
    config = _load(args.config) if args.config else Config()
    source = _try_source(args, config)
    given: set[str] = set()
    if args.article:
        given = {key for key, value in (("title", args.title), ("date", args.date), ("body", args.body),
                                        ("source", args.origin), ("author", args.author)) if value}
    elif args.item:
        given = {"item"} | {key for key in ("title", "link", "date", "summary") if getattr(args, key)}

    async def run():  # noqa: ANN202
        async with fetcher_for(config, persist_cookies=False) as fetcher:
            return await preview(source, config, fetcher, article=args.article, given=given)

    try:
        result = asyncio.run(run())
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SOURCES_FAILED
    zone = config.zone_of(source)
    fallback = {match.field for match in result.selectors if match.fallback}
    if args.json:
        selectors = [
            {"option": m.option, "selector": m.selector, "matched": m.matched, "of": m.of, "fallback": m.fallback}
            for m in result.selectors
        ]
        if result.article is not None:
            article = dict(result.article)
            cases = article.pop("cases", [])
            # "case": the page's one decision (exactly CASE_FIELDS) or null; a page tabling several
            # has "case": null and "cases", so it is never taken for its first decision.
            shown = {"case": cases[0] if len(cases) == 1 else None, **({"cases": cases} if len(cases) > 1 else {})}
            payload: object = {**article, **shown, **({"selectors": selectors} if selectors else {})}
        else:
            payload = {
                "url": result.url,
                "kind": result.kind,
                "feed_url": result.feed_url,
                "frame_url": result.frame_url,
                "rendered": result.rendered,
                "chosen_selectors": result.chosen,
                "hints": result.hints,
                "selectors": selectors,
                "items": [
                    {
                        "title": item.title,
                        "url": item.url,
                        "published": item.published.astimezone(zone).isoformat() if item.published else None,
                        "categories": list(item.categories),
                        "reasons": result.reasons.get(item.key, []),
                        "enclosures": [{"url": e.url, "type": e.type} for e in item.enclosures],
                    }
                    for item in result.items
                ],
            }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return EXIT_OK
    for match in result.selectors:
        print(match.line())
    if result.article is not None:
        for key, value in result.article.items():
            if key == "cases":
                for at, case in enumerate(value, 1):
                    label = "case" if len(value) == 1 else f"case {at}"
                    stated = ", ".join(f"{name}={shown!r}" for name, shown in case.items() if shown is not None)
                    print(f"{label:>13}: {stated}")
                continue
            if key == "content_html" or (value is None and key in ("attachments", "content_from", "unreadable")):
                continue
            shown = value if key != "content_text" or value is None else _head_and_tail(value)
            field = "content" if key == "content_text" else key
            mark = "  (fallback: its selector matched nothing)" if field in fallback and value else ""
            print(f"{key:>13}: {shown}{mark}")
        if result.rendered:
            print(f"{'browser':>13}: {result.rendered}")
        return EXIT_OK
    print(f"{result.kind} {result.url}: {len(result.items)} items")
    if result.hints:
        print("what may be wrong:")
        for hint in result.hints:
            print(f"  - {hint}")
    if result.rendered:
        print(f"read in the browser: {result.rendered}")
    if result.frame_url:
        print(f"the page's own list is empty; read from its iframe: {result.frame_url}")
    if result.feed_url:
        print(f"the page links a feed: {result.feed_url}  (kind = \"feed\" would use it)")
    for item in result.items:
        when = item.published.astimezone(zone).isoformat() if item.published else "no date"
        marks = {name: "  (fallback)" if name in fallback else "" for name in ("title", "url", "published")}
        print(
            f"- {item.title}{marks['title']}\n    {item.url}{marks['url']}\n"
            f"    {when}{marks['published']}  [{', '.join(item.categories) or '-'}]"
        )
        for enclosure in item.enclosures:
            print(f"    enclosure: {enclosure.url} ({enclosure.type}; a poll reads PDF/DOCX text)")
        if args.explain:
            for reason in result.reasons.get(item.key, []):
                print(f"      {reason}")
    if result.chosen:
        print("\nNo selectors given; this is what was detected. Paste into the source to pin it:\n")
        print(result.chosen)
    return EXIT_OK if result.items else EXIT_SOURCES_FAILED
