#!/usr/bin/env bash
# Idempotent installer for declip_mm's tested stack (see README "Installation").
#
#   bash tools/install.sh          # sets up (or reuses) the environment, prints its python
#
# Where things go (override with environment variables):
#   DECLIP_MM_HOME   cache root                      (default: ~/.cache/declip_mm)
#   DECLIP_MM_VENV   the virtual environment         (default: $DECLIP_MM_HOME/venv-py311)
#   wheels/          built mmcv wheels, keyed by mmcv, torch, python and CUDA
#
# Traps fixed here (measured on Python 3.11, torch 2.14.1, 2 cores):
#   * mmcv 2.1.0 has no wheel for torch 2.14 -> built from the sdist with its compiled ops.
#   * its setup.py imports pkg_resources (gone from setuptools >= 81) -> setuptools>=77,<81 and
#     --no-build-isolation against the installed torch.
#   * torch 2.14 headers need C++20 but mmcv passes -std=c++14/17 -> the flags are rewritten.
#   * where nvcc and a GPU exist, the CUDA ops are built too (FORCE_CUDA=1).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOME_DIR="${DECLIP_MM_HOME:-$HOME/.cache/declip_mm}"
VENV="${DECLIP_MM_VENV:-$HOME_DIR/venv-py311}"
WHEELS="$HOME_DIR/wheels"
PY_BOOT="${DECLIP_MM_BOOT_PYTHON:-python3.11}"
command -v "$PY_BOOT" >/dev/null 2>&1 || PY_BOOT=python3

TORCH=2.14.1
TORCHVISION=0.29.1
MMCV=2.1.0
PINS=(
  "torch==$TORCH" "torchvision==$TORCHVISION"
  "numpy>=2,<3" "mmengine==0.10.7" "mmdet==3.3.0" "mmsegmentation==1.2.2"
  "open_clip_torch==3.3.0" "timm>=1.0" "pycocotools>=2.0.7" "lvis>=0.5.3"
  "ftfy" "regex" "scikit-image>=0.22" "tqdm" "pytest>=8"
)
STAMP_KEY="$(printf '%s\n' "${PINS[@]}" "mmcv==$MMCV" | sha1sum | cut -c1-12)"
STAMP="$VENV/.declip_mm_stamp"

log() { printf '[install] %s\n' "$*" >&2; }
# pip's find-links setup on some machines warns once per package; keep the log readable.
pipq() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

have_stack() {
  [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$STAMP_KEY" ] &&
    "$VENV/bin/python" - <<'PY' >/dev/null 2>&1
import mmcv, mmdet, mmseg, mmengine, open_clip, timm, pycocotools
from mmcv.ops import nms, RoIAlign  # compiled ops must be present
PY
}

build_mmcv() {
  local py="$VENV/bin/python" cuda tag wheel src
  cuda="cpu"
  if command -v nvcc >/dev/null 2>&1 && "$py" -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    cuda="cu$("$py" -c 'import torch; print((torch.version.cuda or "").replace(".", ""))')"
  fi
  tag="mmcv${MMCV}-torch${TORCH}-py$("$py" -c 'import sys; print("%d%d" % sys.version_info[:2])')-${cuda}"
  mkdir -p "$WHEELS/$tag"
  wheel="$(ls "$WHEELS/$tag"/mmcv-*.whl 2>/dev/null | head -n1 || true)"
  if [ -z "$wheel" ]; then
    log "building mmcv $MMCV with compiled ops ($cuda); about 13 minutes on 2 cores, done once"
    src="$(mktemp -d)"
    pipq "$py" -m pip install -q "setuptools>=77,<81" wheel
    pipq "$py" -m pip download -q --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV" -d "$src"
    tar xzf "$src"/mmcv-$MMCV.tar.gz -C "$src"
    sed -i 's/-std=c++1[47]/-std=c++20/g; s#/std:c++1[47]#/std:c++20#g' "$src/mmcv-$MMCV/setup.py"
    local extra=()
    [ "$cuda" != "cpu" ] && extra=(FORCE_CUDA=1)
    (cd "$src/mmcv-$MMCV" && pipq env MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" "${extra[@]}" \
      "$py" -m pip wheel -q --no-deps --no-build-isolation . -w "$WHEELS/$tag.partial")
    mv "$WHEELS/$tag.partial"/mmcv-*.whl "$WHEELS/$tag/"
    rm -rf "$src" "$WHEELS/$tag.partial"
    wheel="$(ls "$WHEELS/$tag"/mmcv-*.whl | head -n1)"
  else
    log "reusing cached $wheel"
  fi
  pipq "$py" -m pip install -q --no-deps "$wheel"
}

if ! have_stack; then
  [ -x "$VENV/bin/python" ] || { log "creating $VENV"; mkdir -p "$(dirname "$VENV")"; "$PY_BOOT" -m venv "$VENV"; }
  PY="$VENV/bin/python"
  pipq "$PY" -m pip install -q --upgrade pip "setuptools>=77,<81" wheel
  log "installing torch $TORCH and the pinned stack"
  pipq "$PY" -m pip install -q "${PINS[@]}"
  # mmdet / mmseg declare mmcv>=2.0.0rc4,<2.2.0 and would pull an unusable wheel: build it first.
  "$PY" -c 'import mmcv.ops' >/dev/null 2>&1 || build_mmcv
  echo "$STAMP_KEY" > "$STAMP"
fi

PY="$VENV/bin/python"
if [ "$("$PY" -c 'import declip_mm, os; print(os.path.dirname(os.path.dirname(os.path.abspath(declip_mm.__file__))))' 2>/dev/null || true)" != "$REPO" ]; then
  log "installing declip_mm from $REPO (editable)"
  pipq "$PY" -m pip install -q --no-deps --no-build-isolation -e "$REPO"
fi
echo "$PY"
