#!/bin/sh
# Run every benchmark in turn, as bench/README.md reports them. Takes ~22 minutes on 2 CPUs.
set -e
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
$PY -m bench.bench_poll --runs 3
$PY -m bench.bench_store --runs 3 --items 20000 200000  # add 1000000 for the issue-21 figures (~10 min more)
$PY -m bench.bench_publish --runs 5
$PY -m bench.bench_baseline --runs 3
$PY -m bench.bench_crash --kills 55
$PY -m bench.bench_accuracy
$PY -m bench.bench_slow_site  # ~1.5 min; --against 0af4469 adds the code before issue 23 (~5 min)
