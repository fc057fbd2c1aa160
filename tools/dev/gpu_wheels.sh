#!/usr/bin/env bash
# Fills a wheel folder (default .whl/, which .git/info/exclude should ignore) with what
# tools/dev/gpu_check.sh installs on a device machine that has python, torch, nvcc and the
# common scientific stack but no network (this workplace's H200 image: Python 3.12):
# the OpenMMLab packages, open_clip and their small pure dependencies as py3.12 wheels, and
# the mmcv 2.1.0 sdist that gpu_check.sh builds there for the GPU's architecture.
#
#   bash tools/dev/gpu_wheels.sh [DEST]          # about 12 MB; GPU_PYTHON=3.12 by default
set -euo pipefail
DEST="${1:-.whl}"
PYV="${GPU_PYTHON:-3.12}"
PY="${PYTHON:-$HOME/.cache/declip_mm/venv-py311/bin/python}"  # mmcv's sdist metadata needs torch
mkdir -p "$DEST"
PKGS=(
  mmengine==0.10.7 mmdet==3.3.0 mmsegmentation==1.2.2 open_clip_torch==3.3.0
  ftfy wcwidth "pycocotools>=2.0.7" "lvis>=0.5.3" addict yapf platformdirs termcolor
  terminaltables prettytable shapely "setuptools>=77,<81" wheel
)
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
           --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$PYV" \
  --implementation cp "${PLATFORMS[@]}" -d "$DEST" "${PKGS[@]}"
"$PY" -m pip download -q --no-deps --no-binary :all: --no-build-isolation mmcv==2.1.0 -d "$DEST"
ls "$DEST"
du -sh "$DEST"
