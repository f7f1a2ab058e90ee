#!/usr/bin/env bash
# Rewrites constraints.txt from the current .venv so fresh installs get the versions
# the tests last passed with. torch is left out: setup.sh installs the CPU build
# first, and GPU users bring their own (the project asks for torch>=2.4).
set -euo pipefail
cd "$(dirname "$0")/.."
{
  echo "# Pinned by scripts/lock.sh from a passing .venv; used by scripts/setup.sh."
  .venv/bin/python -m pip freeze --exclude-editable | grep -viE '^(torch|ragtune|nvidia-|triton)[=@ ]' | sort -f
} > constraints.txt
