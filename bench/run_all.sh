#!/bin/sh
# Run every benchmark in turn, as bench/README.md reports them. Takes ~20 minutes on 2 CPUs.
set -e
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
$PY -m bench.bench_poll --runs 3
$PY -m bench.bench_store --runs 3
$PY -m bench.bench_publish --runs 5
$PY -m bench.bench_baseline --runs 3
$PY -m bench.bench_crash --kills 55
$PY -m bench.bench_accuracy
