"""Other extractors side by side with ours (filled in by the next commit)."""

from __future__ import annotations


def libraries() -> list:
    return []
