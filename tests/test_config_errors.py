"""Broken configs: `aggregator check` refuses each with exit 2 and a message naming the key, never a traceback."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.cli import EXIT_CONFIG, EXIT_OK, main

SOURCE = '[[sources]]\nname = "a"\nurl = "http://example.org/"\n'


def _check(tmp_path: Path, text: str | bytes, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, Path]:
    path = tmp_path / "config.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    code = main(["check", str(path)])
    captured = capsys.readouterr()
    return code, captured.err, path


# (id, config text, words the message must contain, line the message must point at or None)
CASES: list[tuple[str, str | bytes, tuple[str, ...], int | None]] = [
    ("bad-toml", "[settings\nstore = 'x'\n", ("not valid TOML", "line 1"), None),
    ("unterminated-string", '[settings]\nstore = "x\n', ("not valid TOML", "line 2"), None),
    ("duplicate-toml-key", "[settings]\ntimeout = 1\ntimeout = 2\n", ("not valid TOML", "line 3"), None),
    ("not-utf8", b'[settings]\nstore = "\xb2\xe2"\n', ("UTF-8",), None),
    ("wrong-type-timeout", "[settings]\ntimeout = [1]\n", ("settings.timeout", "duration"), 2),
    ("wrong-type-concurrency", '[settings]\nconcurrency = "many"\n', ("settings.concurrency", "integer"), 2),
    ("too-much-concurrency", "[settings]\nconcurrency = 99999999999999999999\n", ("settings.concurrency",), 2),
    ("unknown-settings-key", "[settings]\ntimout = 3\n", ("settings.timout", "unknown key", "timeout"), 2),
    ("unknown-top-table", "[setings]\nx = 1\n", ("setings", "unknown key", "settings"), 1),
    ("unknown-source-key", SOURCE + 'urll = "y"\n', ("sources[0].urll", "unknown key"), 4),
    ("unknown-list-key", SOURCE + '[sources.list]\nitem = "li"\nitems = "x"\n', ("sources[0].list.items", "unknown key"), 6),
    ("missing-url", '[[sources]]\nname = "a"\n', ("sources[0].url", "missing"), 1),
    ("missing-name", '[[sources]]\nurl = "http://example.org/"\n', ("sources[0].name", "missing"), 1),
    ("empty-name", '[[sources]]\nname = ""\nurl = "http://example.org/"\n', ("sources[0].name",), 2),
    ("name-not-string", '[[sources]]\nname = 5\nurl = "http://example.org/"\n', ("sources[0].name", "string"), 2),
    (
        "duplicate-names",
        SOURCE + '[[sources]]\nname = "a"\nurl = "http://example.net/"\n',
        ("sources[1].name", "duplicate source name 'a'"),
        5,
    ),
    ("unknown-category", SOURCE + 'categories = ["nope"]\n', ("sources[0].categories", "unknown category 'nope'"), 4),
    (
        "category-not-list",
        '[categories.a]\ntitle = "x"\n' + SOURCE + 'categories = "a"\n',
        ("sources[0].categories", "list"),
        6,
    ),
    ("category-missing-title", '[categories.a]\ndescription = "x"\n', ("categories.a.title", "missing"), 1),
    ("category-bad-slug", '[categories.Big]\ntitle = "x"\n', ("categories", "'Big'"), None),
    ("category-reserved-slug", '[categories.all]\ntitle = "x"\n', ("categories", "'all'"), None),
    # The server answers /status.json and /status.html itself: a category "status" would lose its pages.
    ("category-status", '[categories.status]\ntitle = "x"\n',
     ("categories", "'status' is taken", "/status.json", "rename the category (e.g. [categories.status-news])"), None),
    ("category-index", '[categories.index]\ntitle = "x"\n', ("'index' is taken", "/index.html"), None),
    ("categories-as-array", '[[categories]]\ntitle = "x"\n', ("categories", "should be a table of keys ([categories]", "not a list"), None),
    ("bad-regex", '[categories.a]\ntitle = "x"\nrules = { include = ["re:(unclosed"] }\n', ("categories.a.rules.include", "regular expression"), 3),
    ("bad-rule-field", '[categories.a]\ntitle = "x"\nrules = { fields = ["author"] }\n', ("categories.a.rules.fields",), 3),
    ("negative-interval", SOURCE + "interval = -5\n", ("sources[0].interval", "-5s"), 4),
    ("too-small-interval", SOURCE + 'interval = "10s"\n', ("sources[0].interval", "10s"), 4),
    ("too-large-interval", SOURCE + 'interval = "30d"\n', ("sources[0].interval",), 4),
    ("infinite-interval", SOURCE + "interval = inf\n", ("sources[0].interval",), 4),
    ("bool-interval", SOURCE + "interval = true\n", ("sources[0].interval", "duration"), 4),
    ("word-interval", SOURCE + 'interval = "soon"\n', ("sources[0].interval", "30m"), 4),
    ("negative-default-interval", "[settings]\ndefault_interval = -1\n", ("settings.default_interval", "negative"), 2),
    ("negative-timeout", "[settings]\ntimeout = -3\n", ("settings.timeout", "negative"), 2),
    ("tiny-max-bytes", "[settings]\nmax_bytes = 10\n", ("settings.max_bytes", "1024"), 2),
    ("zero-feed-entries", "[settings]\nfeed_entries = 0\n", ("settings.feed_entries",), 2),
    ("bad-port", "[serve]\nport = 70000\n", ("serve.port",), 2),
    ("negative-backfill", SOURCE + "backfill_pages = -1\n", ("sources[0].backfill_pages",), 4),
    ("header-not-string", SOURCE + "headers = { X-A = 1 }\n", ("sources[0].headers",), 4),
    ("bad-kind", SOURCE + 'kind = "rss"\n', ("sources[0].kind", "'feed'"), 4),
    ("bad-selector", SOURCE + '[sources.list]\nitem = "ul >> li["\n', ("sources[0].list.item", "not valid CSS"), 5),
    ("bad-selector-attr", SOURCE + '[sources.list]\nitem = "li"\nlink = "a@1bad"\n', ("sources[0].list.link", "attribute"), 6),
    ("selector-only-attr", SOURCE + '[sources.list]\nitem = "@href"\n', ("sources[0].list.item", "no CSS part"), 5),
    ("list-without-item", SOURCE + '[sources.list]\ntitle = "h3"\n', ("sources[0].list.item", "missing"), 4),
    ("bad-article-selector", SOURCE + '[sources.article]\nbody = "div..x"\n', ("sources[0].article.body", "CSS"), 5),
    ("ftp-url", '[[sources]]\nname = "a"\nurl = "ftp://example.org/"\n', ("sources[0].url", "http(s)"), 3),
    ("relative-url", '[[sources]]\nname = "a"\nurl = "not a url"\n', ("sources[0].url", "http(s)"), 3),
    ("url-without-host", '[[sources]]\nname = "a"\nurl = "http:///path"\n', ("sources[0].url",), 3),
    ("url-not-string", '[[sources]]\nname = "a"\nurl = 5\n', ("sources[0].url",), 3),
    ("bad-base-url", '[settings]\nbase_url = "localhost"\n', ("settings.base_url",), 2),
    ("bad-source-timezone", SOURCE + 'timezone = "Mars/Olympus"\n', ("sources[0].timezone", "Mars/Olympus"), 4),
    ("bad-settings-timezone", '[settings]\ntimezone = "Nowhere"\n', ("settings.timezone", "IANA"), 2),
    ("bad-encoding", SOURCE + 'encoding = "gbk2"\n', ("sources[0].encoding", "gbk2"), 4),
    ("sources-not-a-list", 'sources = "x"\n', ("sources", "list"), 1),
    # Issue 14.11
    ("unknown-top-table-at-its-line", '[settings]\ntimeout = 3\n\n[sourcs]\nx = 1\n', ("sourcs", "unknown key"), 4),
    ("unknown-top-array-at-its-line", SOURCE + '\n[[source]]\nname = "b"\n', ("source", "unknown key", "sources"), 5),
    (
        "string-for-list-has-a-hint",
        '[categories.a]\ntitle = "x"\n' + SOURCE + 'categories = "a"\n',
        ("sources[0].categories", 'write a list: ["a"]'),
        6,
    ),
    ("url-with-a-space", '[[sources]]\nname = "a"\nurl = "http://example.org/a b"\n', ("sources[0].url", "whitespace"), 3),
    ("port-as-string", '[serve]\nport = "8080"\n', ("serve.port", "integer"), 2),
    ("enabled-as-string", SOURCE + 'enabled = "yes"\n', ("sources[0].enabled", "boolean"), 4),
    ("serve-enabled-as-string", '[serve]\nenabled = "yes"\n', ("serve.enabled", "boolean"), 2),
    ("feed-entries-as-string", '[settings]\nfeed_entries = "50"\n', ("settings.feed_entries", "integer"), 2),
    # A value where a table belongs is said in TOML's words, not the model's class name (ListRequest, Rules).
    (
        "string-for-request-table",
        SOURCE + 'request = "POST"\n',
        ("sources[0].request", "should be a table of keys ([sources.request]", 'not the string "POST"'),
        4,
    ),
    (
        "string-for-a-rule-set",
        '[categories.e]\ntitle = "E"\nrules = ["执法"]\n',
        ("categories.e.rules[0]", "should be a table of keys ([[categories.e.rules]]", 'not the string "执法"'),
        3,
    ),
    ("string-for-request-headers", SOURCE + '[sources.request]\nheaders = "x"\n', ("sources[0].request.headers", "table"), 5),
]


@pytest.mark.parametrize(("text", "words", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_config_is_refused_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes, words: tuple[str, ...], line: int | None
) -> None:
    code, err, path = _check(tmp_path, text, capsys)
    assert code == EXIT_CONFIG, err
    assert "Traceback" not in err
    assert err.startswith("config error:\n") and str(path) in err
    for word in words:
        assert word in err, f"{word!r} not in {err!r}"
    if line is not None:
        assert f"{path}:{line}:" in err, err


def test_every_problem_of_a_config_is_listed_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "[settings]\ntimout = 3\nconcurrency = -1\n" + SOURCE + 'kind = "rss"\n'
    code, err, path = _check(tmp_path, text, capsys)
    assert code == EXIT_CONFIG
    assert "settings.timout" in err and "settings.concurrency" in err and "sources[0].kind" in err


def test_missing_config_file_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope.toml")]) == EXIT_CONFIG
    assert "no such config file" in capsys.readouterr().err


def test_a_good_config_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The control for the cases above: the same skeleton, unbroken, is accepted.
    text = '[categories.a]\ntitle = "x"\n' + SOURCE + 'categories = ["a"]\ninterval = "30m"\n[sources.list]\nitem = "ul li"\n'
    code, err, _path = _check(tmp_path, text, capsys)
    assert code == EXIT_OK, err


# A timeout of 0 makes every fetch time out at once; nan/inf make a silent server hang the poll forever.
@pytest.mark.parametrize("value", ["nan", "inf", "0"])
def test_timeout_must_be_finite_and_positive(tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    code, err, _path = _check(tmp_path, f"[settings]\ntimeout = {value}\n", capsys)
    assert code == EXIT_CONFIG and "settings.timeout" in err


# -- fuzzing: any value in any known key gives OK or a config error, never a crash -----------------

_KEYS = {
    "settings": ["store", "timeout", "max_bytes", "concurrency", "host_delay", "default_interval", "timezone", "feed_entries", "base_url"],
    "source": ["name", "url", "kind", "interval", "categories", "timezone", "encoding", "backfill_pages", "headers", "fetch_articles"],
    "list": ["item", "title", "link", "date"],
}

_toml_scalars = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: "nan" if math.isnan(f) else ("inf" if f == math.inf else ("-inf" if f == -math.inf else repr(f)))),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.text(max_size=30).map(lambda s: '"' + s.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'),
    st.sampled_from(['"30m"', '"ul > li"', '"a@href"', '"li["', '"http://x.org/"', '"Asia/Shanghai"', '"gbk"', "[]", '["a"]', "{}", "1979-05-27"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=st.sampled_from(sorted(_KEYS)), data=st.data(), value=_toml_scalars)
def test_fuzzed_values_never_crash_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, data: st.DataObject, value: str
) -> None:
    key = data.draw(st.sampled_from(_KEYS[table]))
    settings_part, source_part, list_part = {}, {"name": '"a"', "url": '"http://example.org/"'}, {"item": '"li"'}
    {"settings": settings_part, "source": source_part, "list": list_part}[table][key] = value
    text = "[categories.a]\ntitle = \"x\"\n[settings]\n" + "".join(f"{k} = {v}\n" for k, v in settings_part.items())
    text += "[[sources]]\n" + "".join(f"{k} = {v}\n" for k, v in source_part.items())
    text += "[sources.list]\n" + "".join(f"{k} = {v}\n" for k, v in list_part.items())
    code, err, _path = _check(tmp_path, text, capsys)
    assert code in (EXIT_OK, EXIT_CONFIG), err
    assert "Traceback" not in err
    if code == EXIT_CONFIG and "not valid TOML" not in err:
        # A refused value is blamed on the key that holds it.
        assert key in err, err


def test_an_empty_config_is_ok_but_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("", encoding="utf-8")
    assert main(["check", str(path)]) == EXIT_OK
    assert "warning: no [[sources]] defined" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["-1", "0", "many"])
def test_status_explain_needs_a_positive_count(tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(SOURCE, encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        main(["status", str(path), "--explain", value])
    assert stop.value.code == 2
    assert "not a positive number" in capsys.readouterr().err


def test_type_errors_say_what_to_write_and_which_source(tmp_path) -> None:  # noqa: ANN001
    from aggregator.config import ConfigError, load_config

    path = tmp_path / "c.toml"
    path.write_text('[serve]\nport = "8090"\n\n[[sources]]\nname = "local-json"\nurl = "http://x.gov.cn/"\n'
                    'respect_robots = "no"\nkind = "jsno"\n', encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as exc:
        message = str(exc)
    else:
        raise AssertionError("the config loaded")
    assert f'{path}:2: serve.port: Input should be a valid integer; got the string "8090": write 8090 without quotes' in message
    assert 'sources[0].respect_robots (source "local-json")' in message and "write true or false without quotes" in message
    assert '(got "jsno")' in message


def test_a_database_store_from_the_environment_keeps_its_password_out_of_sight(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = '[settings]\nstore = "env:AGGREGATOR_TEST_DB"\n'
    code, out, _path = _check(tmp_path, text, capsys)
    assert code == EXIT_CONFIG and "AGGREGATOR_TEST_DB is not set" in out and "settings.store" in out
    monkeypatch.setenv("AGGREGATOR_TEST_DB", "postgresql://feeds:s3cret@db.internal/feeds")
    assert main(["check", str(tmp_path / "config.toml")]) == EXIT_OK
    out = capsys.readouterr().out
    assert "store:      postgresql://feeds:***@db.internal/feeds" in out and "s3cret" not in out


def test_a_database_password_with_unencoded_signs_is_refused_without_showing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _path = _check(tmp_path, '[settings]\nstore = "postgresql://feeds:se@cr/et@db.internal/feeds"\n', capsys)
    assert code == EXIT_CONFIG and "percent-encode" in out and "%40" in out and "cr/et" not in out


@pytest.mark.parametrize(
    ("text", "line", "shown"),
    [
        # A Chinese input method's comma inside an array: tomllib says only "Unclosed array".
        ('[categories.e]\ntitle = "执法，处罚"\nrules = { include = ["执法"，"处罚"] }\n', 3,
         "line 3, column 26 (key 'rules' in [categories.e]): '，' is a full-width comma; TOML needs the ASCII ','"),
        # ... in an array over several lines, reported where the array ends.
        ('[[sources]]\nname = "a"\nurl = "http://example.org/"\ncategories = [\n  "a"，\n  "b"\n]\n', 5,
         "line 5, column 6 (key 'categories' in [[sources]]): '，' is a full-width comma"),
        ('[[sources]]\nname： "a"\n', 2, "(key 'name' in [[sources]]): '：' is a full-width colon; TOML needs the ASCII '='"),
        ('[categories.e]\ntitle = “执法”\n', 2, "(key 'title' in [categories.e]): '“' is a full-width quote; TOML needs the ASCII '\"'"),
        ("[settings]\ntimeout ＝ 3\n", 2, "'＝' is a full-width equals sign"),
    ],
)
def test_full_width_punctuation_is_pointed_at(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, shown: str
) -> None:
    code, err, path = _check(tmp_path, text, capsys)
    assert code == EXIT_CONFIG
    assert f"{path}:{line}: not valid TOML" in err
    assert shown in err, err
    assert "full-width punctuation belongs only inside quotes" in err


def test_full_width_punctuation_inside_strings_is_not_blamed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The error is the missing bracket; the comma in the title is right where it is.
    code, err, _path = _check(tmp_path, '[categories.e]\ntitle = "执法，处罚"\n[settings\n', capsys)
    assert code == EXIT_CONFIG and "not valid TOML" in err and "full-width" not in err
