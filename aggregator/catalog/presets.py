"""CMS presets: what a column of one publishing platform needs, as source keys.

A preset is a partial `[[sources]]` table. `preset = "trs"` plus a URL is a
whole source for a column of that platform; catalog entries are built on them,
and any key given beside `preset` (or in a catalog entry) wins over the preset's,
sub-tables (`list`, `article`, `json`) key by key.

The shapes come from public crawler code and RSSHub routes for these platforms:
list and paging markers of each platform, its article body container and, for
the platforms whose columns are filled by JavaScript, the JSON API behind them.
Paging of Hanweb (`<datastore>` + dataproxy.jsp) and TRS (`createPageHTML`,
`index_N`) lists is recognised from the list page itself; a preset only asks
for older pages on the first poll with `backfill_pages`.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    # 大汉 Hanweb JCMS: /col/colNNN/index.html; rows are <li> records inside
    # <script type="text/xml"><datastore>; link text is cut with "…", @title is whole.
    "hanweb": {
        "kind": "html",
        "list": {"item": "li", "title": "a@title", "date": "span"},
        "article": {"body": "#zoom, .zoom", "remove": [".fenxiang", ".dyxx"]},
        "fetch_articles": True,
        "backfill_pages": 2,
    },
    # TRS WCM static publishing: index.shtml / index_N.shtml with createPageHTML;
    # articles ./YYYYMM/tYYYYMMDD_ID.shtml with the body in .TRS_Editor / TRS_UEDITOR.
    "trs": {
        "kind": "html",
        "list": {"item": 'li:has(a[href*="/t20"])', "link": 'a[href*="/t20"]@href'},
        "article": {"body": ".TRS_Editor, .TRS_UEDITOR, .neiright_JPZ_GK_CP"},
        "fetch_articles": True,
        "backfill_pages": 2,
    },
    # Guangdong 集约化 platform, 政府信息公开 (gkmlpt): the column page is built
    # by JavaScript from /gkmlpt/api/all/{colId}?page=N&sid={siteId}; point `url` at that API.
    # The publication date (发布日期) is create_time, Unix seconds; created_at is when the row was ingested.
    "gkmlpt": {
        "kind": "json",
        "json": {"items": "articles", "title": "title", "link": "url", "date": "create_time", "next_page": "page={page}"},
        "fetch_articles": True,
        "backfill_pages": 2,
    },
    # Guangdong 集约化 platform, ordinary columns: static lists of /content/post_ID.html.
    "gd-post": {
        "kind": "html",
        "list": {"item": 'li:has(a[href*="/post_"])', "link": 'a[href*="/post_"]@href'},
        "fetch_articles": True,
    },
    # "/cNNNNNN/…shtml" platform (likely 开普云 UCAP): the column's JSON search API
    # /common/search/{channelId}?_isAgg=true&_isJson=true&_pageSize=10&_template=index&page=1;
    # article titles in <ucaptitle>.
    "ucap": {
        "kind": "json",
        "json": {
            "items": "data.results",
            "title": "title",
            "link": "url",
            "date": "publishedTimeStr",
            "next_page": "page={page}",
        },
        "article": {"title": "ucaptitle"},
        "fetch_articles": True,
        "backfill_pages": 2,
    },
    # Any other static list: found by the list detector, articles read in full.
    "generic": {"kind": "auto", "fetch_articles": True},
}

# What `catalog list` and the README say each preset is for.
DESCRIPTIONS: dict[str, str] = {
    "hanweb": "大汉 Hanweb JCMS column /col/colNNN/ (datastore records, dataproxy.jsp paging)",
    "trs": "TRS WCM static list index.shtml (createPageHTML, index_N paging, .TRS_Editor body)",
    "gkmlpt": "Guangdong 集约化 gkmlpt JSON /gkmlpt/api/all/{colId}?page=N&sid={siteId}",
    "gd-post": "Guangdong 集约化 static column of /content/post_ID.html",
    "ucap": "开普云 UCAP JSON /common/search/{channelId}?_isJson=true…&page=N",
    "generic": "any static list page: list found automatically, articles fetched",
}
