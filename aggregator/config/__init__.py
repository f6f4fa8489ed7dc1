"""Config stage: read a TOML file of subscriptions and validate it.

A bad config is refused with a `ConfigError` naming the file, the key, the
line (where it can be found) and what is allowed.

`fields.py` holds the value types of single keys (durations, URLs, selectors),
`models.py` the pydantic models of the tables, `loading.py` the reading of a
file and its error messages. Everything is imported from here.
"""

from .fields import (
    Duration,
    HttpUrl,
    JMESPath,
    OptionalUrl,
    ProxyUrl,
    Selector,
    parse_duration,
)
from .loading import ENV_OVERRIDES, ConfigError, find_line, load_config, overridden_settings, parse_config
from .models import (
    MAX_INTERVAL,
    MIN_INTERVAL,
    SLUG,
    ArticleSelectors,
    Category,
    Config,
    JsonQuery,
    ListRequest,
    ListSelectors,
    NotifyTarget,
    Rules,
    ServeSettings,
    Settings,
    Source,
    Strict,
    served_url,
)

__all__ = [
    "ENV_OVERRIDES",
    "MAX_INTERVAL",
    "MIN_INTERVAL",
    "SLUG",
    "ArticleSelectors",
    "Category",
    "Config",
    "ConfigError",
    "Duration",
    "HttpUrl",
    "JMESPath",
    "JsonQuery",
    "ListRequest",
    "ListSelectors",
    "NotifyTarget",
    "OptionalUrl",
    "ProxyUrl",
    "Rules",
    "Selector",
    "ServeSettings",
    "Settings",
    "Source",
    "Strict",
    "find_line",
    "load_config",
    "overridden_settings",
    "parse_config",
    "parse_duration",
    "served_url",
]
