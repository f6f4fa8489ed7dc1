"""Infrastructure: what several stages use, kept apart from the stages themselves.

`atomicfile.py`: atomic file replacement (temp file, fsync, rename, fsync the
directory), used by the store, the feeds the publish stage writes, fetch's
cookie jar and `catalog add`. The worker pool of parse processes (`workers.py`)
and the headless browser (`browser.py`) will move in here later.
"""
