#!/usr/bin/env bash
# The README's first command: installs what is missing (tools/install.sh), then runs the main
# job: F-ViT open-vocabulary detection on the OV-Shapes world with the shipped tiny DeCLIP
# encoder, trained on the base classes, evaluated on base and novel classes (AP50), next to the
# plain tiny CLIP when the time budget allows, with prediction pictures. Offline; about
# 10 minutes on 2 CPU cores.
#   bash tools/run_main.sh [--out outputs/main_job] [--baseline always|never] [...]
# (options: python tools/ovshapes/main_job.py --help)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$(bash "$REPO/tools/install.sh")"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"  # no spinning threads on a busy CPU
cd "$REPO"
exec "$PY" tools/ovshapes/main_job.py "$@"
