#!/usr/bin/env bash
# The README's test command: installs what is missing (tools/install.sh), then runs the tests.
#   bash tools/run_tests.sh [pytest args]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$(bash "$REPO/tools/install.sh")"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
cd "$REPO"
exec "$PY" -m pytest -q -p no:cacheprovider tests "$@"
