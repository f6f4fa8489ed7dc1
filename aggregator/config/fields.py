"""The value types of config keys: durations, http(s) URLs, proxies, CSS selectors, JMESPath.

Each is a plain `str` or `float` for pydantic with a check in front that says
what to write instead of a bad value.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BeforeValidator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> float:
    """Seconds from an int/float or a string such as "90s", "30m", "2h", "1d"."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30m, 2h or 3600")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a duration; write e.g. 90s, 30m, 2h, 1d or a number of seconds")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    raise ValueError(f"{value!r} is not a duration; write e.g. 90s, 30m, 2h, 1d or a number of seconds")


Duration = Annotated[float, BeforeValidator(parse_duration)]


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an absolute http(s) URL")
    if any(char.isspace() for char in value):
        raise ValueError(f"{value!r} contains whitespace; write a space as %20 (or remove it)")
    return value


HttpUrl = Annotated[str, BeforeValidator(lambda v: _check_url(str(v)) if isinstance(v, str) else v)]


def _check_proxy(value: str) -> str:
    """"" means no proxy (a source's way out of [settings] proxy)."""
    parts = urlsplit(value)
    if value and (parts.scheme not in ("http", "https", "socks5", "socks5h") or not parts.hostname):
        raise ValueError(f"proxy {value!r} must be http://, https://, socks5:// or socks5h://HOST:PORT (or \"\" for none)")
    return value


def _check_optional_url(value: str) -> str:
    return _check_url(value) if value else value


ProxyUrl = Annotated[str, BeforeValidator(lambda v: _check_proxy(v) if isinstance(v, str) else v)]
# "" switches a default from [settings] off for one source.
OptionalUrl = Annotated[str, BeforeValidator(lambda v: _check_optional_url(v) if isinstance(v, str) else v)]


def _check_selector(value: str) -> str:
    """Selectors are CSS, optionally ending in `@attr` to read an attribute."""
    css, _, attr = value.rpartition("@") if "@" in value else (value, "", "")
    css = css.strip()
    if not css:
        raise ValueError(f"selector {value!r} has no CSS part before '@'")
    if attr and not re.fullmatch(r"[A-Za-z_:][-A-Za-z0-9_:.]*", attr.strip()):
        raise ValueError(f"selector {value!r}: {attr!r} is not an attribute name")
    from selectolax.lexbor import LexborHTMLParser

    try:
        LexborHTMLParser("<p></p>").css(css)
    except Exception as exc:  # lexbor raises plain Exceptions on bad selectors
        raise ValueError(f"selector {css!r} is not valid CSS: {exc}") from None
    return value


Selector = Annotated[str, BeforeValidator(lambda v: _check_selector(v) if isinstance(v, str) else v)]


def _check_jmespath(value: str) -> str:
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        jmespath.compile(value)
    except JMESPathError as exc:
        raise ValueError(f"{value!r} is not a JMESPath expression: {exc}") from None
    return value


JMESPath = Annotated[str, BeforeValidator(lambda v: _check_jmespath(v) if isinstance(v, str) else v)]
