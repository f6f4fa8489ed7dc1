"""Median extraction time per real page (list and article), with the machine it ran on.

Run: .venv/bin/python bench/bench_extract.py [runs]
Goals: list page < 5 ms, article page < 30 ms (decode not included; it is timed separately).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aggregator.extract.article import extract_article  # noqa: E402
from aggregator.extract.decode import decode_html  # noqa: E402
from aggregator.extract.html_list import extract_list  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=TZ)
LISTS = {
    "real/fund-announcement-list.html": "https://www.hrfund.com.cn/main/zxzx/xxpl/index.shtml",
    "real/netease-rolling-news-list.html": "https://news.163.com/latest/",
    "real/l01_sh_wsjkw_yqtb.html": "https://wsjkw.sh.gov.cn/yqtb/index.html",
    "real/l02_netease_international.html": "https://news.163.com/world/",
    "real/l04_ifeng_finance.html": "https://finance.ifeng.com/",
    "real/l06_qbitai.html": "https://www.qbitai.com/",
    "real/l08_aibot.html": "https://ai-bot.cn/daily-ai-news/",
    "sites/sthjt/col1229116-index.html": "https://sthjt.zj.gov.cn/col/col1229116/index.html",
    "sites/mee/index.html": "https://www.mee.gov.cn/ywdt/",
}
ARTICLES = {
    "real/fgw-zj-gov-cn-article-hanweb.html": "http://fgw.zj.gov.cn/art/2016/11/22/art_1621004_30332664.html",
    "real/people-com-cn-article.html": "http://culture.people.com.cn/n1/2019/0615/c1013-31153719.html",
    "real/youth-cn-article-utf8-declares-gb2312.html": "http://news.youth.cn/gn/202405/t20240513_15249693.htm",
    "real/sina-article-gbk.html": "http://ent.sina.com.cn/y/2009-11-09/13482762951.shtml",
    "sites/repost/article.html": "http://www.lshbw.example.cn/html/2023/11/12/58213.html",
    "sites/mee/article.html": "https://www.mee.gov.cn/ywdt/202304/t20230419_1027643.shtml",
}


def median_ms(run, runs: int) -> float:
    run()  # warm-up: first call imports and compiles
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"median of {runs} runs\n")
    print(f"{'page':50} {'kB':>6} {'decode ms':>10} {'extract ms':>11} {'items/body':>11}")
    medians: dict[str, list[float]] = {"list": [], "article": []}
    for kind, pages in (("list", LISTS), ("article", ARTICLES)):
        for name, url in pages.items():
            body = (FIXTURES / name).read_bytes()
            text = decode_html(body).text
            decode = median_ms(lambda: decode_html(body), runs)
            if kind == "list":
                extract = median_ms(lambda: extract_list(text, url, None, tz=TZ, now=NOW), runs)
                result = f"{len(extract_list(text, url, None, tz=TZ, now=NOW).items)} items"
            else:
                extract = median_ms(lambda: extract_article(text, url, None, tz=TZ, now=NOW), runs)
                page = extract_article(text, url, None, tz=TZ, now=NOW)
                result = f"{len(page.content_text or '')} chars"
            medians[kind].append(extract)
            print(f"{kind + ' ' + name:50} {len(body) / 1024:6.0f} {decode:10.2f} {extract:11.2f} {result:>11}")
    print()
    for kind, times in medians.items():
        print(f"median {kind} page: {statistics.median(times):.2f} ms extract (goal {'5' if kind == 'list' else '30'} ms)")


if __name__ == "__main__":
    main()
