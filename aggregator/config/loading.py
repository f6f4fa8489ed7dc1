"""Reading a config file: TOML parsed, validated by the models, environment overrides applied.

A bad config is refused with a `ConfigError` whose message names the file, the
line (where it can be found), the key, and what to write instead.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .models import (
    ArticleSelectors,
    Category,
    Config,
    JsonQuery,
    ListRequest,
    ListSelectors,
    Rules,
    ServeSettings,
    Settings,
    Source,
    _LocatedError,
    is_database_url,
)



class ConfigError(Exception):
    """A config that cannot be used; the message says where and how to fix it."""


# Strict types refuse "8080" and "yes"; say what to write instead.
_QUOTED_FIX: dict[str, Any] = {
    "int_type": lambda value: f"write {value.strip()} without quotes" if value.strip().lstrip("-").isdigit() else "write a whole number",
    "float_type": lambda value: "write a number without quotes",
    "bool_type": lambda value: "write true or false without quotes",
}


def _source_named(data: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """` (source "name")` for a key inside [[sources]], so the user need not count tables."""
    if len(loc) >= 2 and loc[0] in ("sources", "notify") and isinstance(loc[1], int):
        tables = data.get(loc[0])
        if isinstance(tables, list) and loc[1] < len(tables) and isinstance(tables[loc[1]], dict):
            name = tables[loc[1]].get("name") or tables[loc[1]].get("catalog")
            if isinstance(name, str):
                return f' ({loc[0][:-1] if loc[0] == "sources" else loc[0]} "{name}")'
    return ""


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _table_wanted(loc: tuple[Any, ...], given: Any) -> str:
    """A value where a table belongs (`request = "POST"`): say so in TOML's words, not the model's class name."""
    header = ".".join(part for part in loc if isinstance(part, str))
    section = f"[[{header}]]" if loc and isinstance(loc[-1], int) else f"[{header}]"
    what = f"the string {given!r}" if isinstance(given, str) else ("a list" if isinstance(given, list) else repr(given))
    return f"should be a table of keys ({section} with `key = value` lines under it, or {{ key = value, … }}), not {what}".replace("'", '"')


def find_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort line number of a key (a pydantic error location such as ("sources", 2, "url")):
    tomllib gives positions only for syntax errors."""
    lines = text.splitlines()
    start, end = 0, len(lines)
    rest = list(loc)
    if rest and rest[0] == "sources" and len(rest) > 1 and isinstance(rest[1], int):
        headers = [i for i, line in enumerate(lines) if re.match(r"\s*\[\[\s*sources\s*\]\]", line)]
        if rest[1] < len(headers):
            start = headers[rest[1]]
            end = next((i for i in range(start + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines))
            # Sub-tables such as [sources.list] follow their [[sources]] block.
            if len(rest) > 2 and isinstance(rest[2], str):
                sub = next(
                    (i for i in range(start + 1, len(lines)) if re.match(rf"\s*\[\s*sources\.{re.escape(rest[2])}\s*\]", lines[i])),
                    None,
                )
                if sub is not None and len(rest) == 3:
                    return sub + 1  # the sub-table as a whole ([sources.request] with form but no POST)
                if sub is not None:
                    start = sub
                    end = next((i for i in range(sub + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines))
                    rest = rest[:2] + rest[3:]
        rest = rest[2:]
    elif rest and rest[0] in ("settings", "serve", "categories"):
        table = ".".join(str(p) for p in rest[:2]) if rest[0] == "categories" and len(rest) > 1 else rest[0]
        if rest[0] == "categories" and len(rest) > 3 and isinstance(rest[3], int):
            # One of several rule sets: the Nth [[categories.NAME.rules]] header, up to the next table.
            sets = [i for i, line in enumerate(lines) if re.match(rf"\s*\[\[\s*{re.escape(table)}\.{re.escape(str(rest[2]))}\s*\]\]", line)]
            if rest[3] < len(sets):
                start = sets[rest[3]]
                end = next((i for i in range(start + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines))
                key = next((p for p in rest[4:] if isinstance(p, str)), None)
                found = next((i for i in range(start, end) if key and re.match(rf"\s*{re.escape(key)}\s*=", lines[i])), start)
                return found + 1
        if rest[0] == "categories" and len(rest) > 3 and isinstance(rest[2], str):
            # Rules written as their own table, [categories.NAME.rules], rather than inline.
            sub = f"{table}.{rest[2]}"
            if any(re.match(rf"\s*\[\s*{re.escape(sub)}\s*\]", line) for line in lines):
                table, rest = sub, rest[:2] + rest[3:]
        header = next((i for i, line in enumerate(lines) if re.match(rf"\s*\[\s*{re.escape(table)}\s*\]", line)), None)
        if header is None:
            return None
        start = header
        end = next((i for i in range(header + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines))
        rest = rest[2:] if rest[0] == "categories" else rest[1:]
        if not rest:
            return header + 1
    key = next((p for p in rest if isinstance(p, str)), None)
    if key is None:
        return start + 1
    if len(loc) == 1 and isinstance(loc[0], str):
        # An unknown top-level key is usually a table: find its [header] or [[header]].
        for i, line in enumerate(lines):
            if re.match(rf"\s*\[\[?\s*{re.escape(key)}\s*[\].]", line):
                return i + 1
    for i in range(start, end):
        if re.match(rf"\s*{re.escape(key)}\s*=", lines[i]):
            return i + 1
    return start + 1


# Punctuation a Chinese input method types in place of TOML's own; tomllib then reports what
# it expected ("Unclosed array") and never the character that misled it.
_FULL_WIDTH = {
    "，": ("full-width comma", ","),
    "：": ("full-width colon", "="),
    "＝": ("full-width equals sign", "="),
    "“": ("full-width quote", '"'),
    "”": ("full-width quote", '"'),
    "‘": ("full-width quote", "'"),
    "’": ("full-width quote", "'"),
    "［": ("full-width bracket", "["),
    "］": ("full-width bracket", "]"),
    "｛": ("full-width brace", "{"),
    "｝": ("full-width brace", "}"),
    "\u3000": ("full-width space", " "),
}
_TOML_ERROR_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_KEY_AT_START = re.compile(r"""\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*[=＝：]""")
_TABLE_HEADER = re.compile(r"\s*(\[\[?[^\]]+\]\]?)")


def _error_line(exc: tomllib.TOMLDecodeError) -> int | None:
    match = _TOML_ERROR_LINE.search(str(exc))
    return int(match.group(1)) if match else None


def _outside_strings(line: str) -> list[tuple[int, str]]:
    """(column, character) of the full-width punctuation of a line that is not inside a string or comment."""
    found: list[tuple[int, str]] = []
    quote: str | None = None
    escaped = False
    for column, char in enumerate(line, 1):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = None
        elif char in ('"', "'"):
            quote = char
        elif char == "#":
            break
        elif char in _FULL_WIDTH:
            found.append((column, char))
    return found


def _full_width_hint(text: str, error_line: int) -> str | None:
    """Where full-width punctuation on or just above the line of a TOML error is, and what to write.

    A multi-line array is reported where it ends, so the three lines above count too.
    (A string that spans lines is not tracked: such a line is read as if it began outside a string.)
    """
    lines = text.splitlines()
    for number in range(min(error_line, len(lines)), max(0, error_line - 4), -1):
        hits = _outside_strings(lines[number - 1])
        if not hits:
            continue
        column, char = hits[0]
        name, ascii_ = _FULL_WIDTH[char]
        key = None
        for back in range(number, 0, -1):  # the key of the value this line is part of
            match = _KEY_AT_START.match(lines[back - 1])
            if match:
                key = match.group(1)
                break
            if _TABLE_HEADER.match(lines[back - 1]):
                break
        table = next(
            (m.group(1) for m in (_TABLE_HEADER.match(lines[i]) for i in range(number - 1, -1, -1)) if m), None
        )
        where = f"key {key!r}" if key else "this line"
        if table:
            where += f" in {table}"
        return (
            f"line {number}, column {column} ({where}): {char!r} is a {name}; TOML needs the ASCII {ascii_!r} there "
            f"(full-width punctuation belongs only inside quotes)"
        )
    return None


def parse_config(text: str, path: Path | str = "<config>") -> Config:
    path = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _error_line(exc)
        hint = _full_width_hint(text, line) if line else None
        raise ConfigError(f"{path}{f':{line}' if line else ''}: not valid TOML: {exc}" + (f"\n  {hint}" if hint else "")) from None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            message = error["msg"]
            ctx_error = (error.get("ctx") or {}).get("error")
            if isinstance(ctx_error, _LocatedError):
                loc, message = ctx_error.loc, ctx_error.message
            elif message.startswith("Value error, "):
                message = message[len("Value error, ") :]
            loc = _as_written(data, loc)
            if error["type"] == "extra_forbidden":
                message = f"unknown key {loc[-1]!r}; {_allowed_keys(loc)}"
            elif error["type"] == "list_type" and isinstance(error.get("input"), str):
                message += f"; write a list: [{error['input']!r}]".replace("'", '"')
            elif error["type"] == "missing":
                message = f"required key {loc[-1]!r} is missing"
            elif error["type"] in _QUOTED_FIX and isinstance(error.get("input"), str):
                message += f"; got the string {error['input']!r}: {_QUOTED_FIX[error['type']](error['input'])}".replace("'", '"')
            elif error["type"] in ("model_type", "dict_type") and "input" in error:
                message = _table_wanted(loc, error["input"])
            elif error["type"] == "literal_error" and "input" in error:
                message += f" (got {error['input']!r})".replace("'", '"')
            line = find_line(text, loc)
            where = f"{path}:{line}" if line else str(path)
            problems.append(f"{where}: {_dotted(loc)}{_source_named(data, loc)}: {message}")
        raise ConfigError("\n".join(problems)) from None
    return config.model_copy(update={"path": path.resolve()})


def _as_written(data: dict[str, Any], loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The model holds a single `rules` table as a list of one; an error in it names the table as written."""
    if len(loc) > 3 and loc[0] == "categories" and loc[2] == "rules" and loc[3] == 0:
        categories = data.get("categories")
        category = categories.get(loc[1]) if isinstance(categories, dict) else None
        if isinstance(category, dict) and isinstance(category.get("rules"), dict):
            return loc[:3] + loc[4:]
    return loc


_MODELS_BY_TABLE: dict[str, type[BaseModel]] = {
    "settings": Settings,
    "serve": ServeSettings,
    "list": ListSelectors,
    "article": ArticleSelectors,
    "json": JsonQuery,
    "request": ListRequest,
    "keep": Rules,
    "drop": Rules,
    "rules": Rules,
}


def _allowed_keys(loc: tuple[Any, ...]) -> str:
    parents = [p for p in loc[:-1] if isinstance(p, str)]
    model: type[BaseModel] = Config
    if parents:
        last = parents[-1]
        if last in _MODELS_BY_TABLE:
            model = _MODELS_BY_TABLE[last]
        elif last == "sources":
            model = Source
        elif parents[0] == "categories":
            model = Category
    allowed = sorted((field.alias or name) for name, field in model.model_fields.items() if name != "path")
    return "allowed: " + ", ".join(allowed)


# Where a service keeps its data is the service manager's business, not the config file's:
# these override `store` and `output_dir` (the CLI's --store / --output-dir set them too).
ENV_OVERRIDES = {"AGGREGATOR_STORE": "store", "AGGREGATOR_OUTPUT_DIR": "output_dir"}


def overridden_settings(config: Config) -> dict[str, str]:
    """Settings the environment overrides: key -> the variable that set it."""
    return {key: variable for variable, key in ENV_OVERRIDES.items() if os.environ.get(variable)}


def as_location(value: str) -> str:
    """A path relative to where the command ran; a database URL or `env:NAME` as it is."""
    if is_database_url(value) or value.startswith("env:"):
        return value
    return str(Path(value).expanduser().absolute())


def _apply_environment(config: Config) -> Config:
    update = {
        key: as_location(os.environ[variable]) for key, variable in overridden_settings(config).items()
    }
    if not update:
        return config
    return config.model_copy(update={"settings": config.settings.model_copy(update=update)})


def load_config(path: Path | str) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: config must be UTF-8 ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from None
    config = _apply_environment(parse_config(text, path))
    from ..demo import with_demo_port  # the sample site's sources follow --demo-port

    try:
        return with_demo_port(config)
    except ValueError as exc:  # AGGREGATOR_DEMO_PORT is not a port
        raise ConfigError(str(exc)) from None
