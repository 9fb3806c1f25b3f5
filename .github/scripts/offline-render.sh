#!/usr/bin/env bash
# The offline-diff job's render step: every stack of a program into OUT, the log kept beside it.
# Usage: offline-render.sh PROGRAM_DIR OUT LOG
# pipefail: the step fails when the render fails, whatever the runner's shell (its default
# `bash -e {0}` has no pipefail, so `render | tee` would take tee's exit code).
set -euo pipefail
program=$1 out=$2 log=$3
python=${PYTHON:-.venv/bin/python}
"$python" -m elastic_inference_tools render --all --dir "$program" --out "$out" 2>&1 | tee "$log"
