"""Infrastructure that several stages use, kept apart from the stages themselves.

- `workers`: the pool of processes that parse pages beside the event loop.
- `browser`: the one headless Chromium of `render` sources; only the fetch stage's
  transport (`aggregator.fetch.transport`) drives it.
- `atomicfile`: atomic file writes (temporary file, fsync, rename) for the store, the
  feeds, the cookie jar and `catalog add`.
"""
