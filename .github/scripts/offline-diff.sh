#!/usr/bin/env bash
# The offline-diff job's diff step: writes OUT/diff.md (the PR comment) and OUT/diff.json.
# Usage: offline-diff.sh BASE_RENDER HEAD_RENDER HEAD_LOG OUT
# Env: BASE_OUTCOME, HEAD_OUTCOME (the render steps' outcomes: success | failure).
set -euo pipefail
base=$1 head=$2 log=$3 out=$4
python=${PYTHON:-.venv/bin/python}
mkdir -p "$out" "$base"
if [ "${HEAD_OUTCOME:-failure}" != "success" ]; then
  # The render's log may carry text from the PR's stack files: escaped, as every string of the comment.
  "$python" -m elastic_inference_tools diff --failed-log "$log" > "$out/diff.md"
  exit 0
fi
if [ "${BASE_OUTCOME:-failure}" != "success" ]; then
  empty=--base-may-be-empty  # no stack may have rendered at the base: all are new then
else
  empty=
fi
"$python" -m elastic_inference_tools diff $empty "$base" "$head" > "$out/diff.md"
"$python" -m elastic_inference_tools diff $empty "$base" "$head" --json > "$out/diff.json"
if [ "${BASE_OUTCOME:-failure}" != "success" ]; then
  printf '\n> [!NOTE]\n> Some stacks did not render at the base; they are shown as new stacks.\n' >> "$out/diff.md"
fi
