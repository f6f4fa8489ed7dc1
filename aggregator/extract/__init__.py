"""Extract stage: pages and feeds -> RawItem / article fields (pure functions, no HTTP)."""

from .article import ArticlePage, extract_article
from .decode import DecodedPage, decode_html
from .hanweb import DataproxyRequest, PageRequest, Paging, dataproxy_requests, find_records, trs_page_urls
from .html_list import ListPage, extract_list

__all__ = [
    "ArticlePage", "DataproxyRequest", "DecodedPage", "ListPage", "PageRequest", "Paging",
    "dataproxy_requests", "decode_html", "extract_article", "extract_list", "find_records",
    "trs_page_urls",
]
