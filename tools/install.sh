#!/usr/bin/env bash
# Idempotent installer for declip_mm's tested stack (see README "Installation").
#
#   bash tools/install.sh          # sets up (or reuses) the environment, prints its python
#   bash tools/install.sh --mmcv-wheel   # only builds (or finds) the mmcv wheel for the
#                                        # environment's torch, prints its path; installs nothing
#
# Where things go (override with environment variables):
#   DECLIP_MM_HOME   cache root                      (default: ~/.cache/declip_mm)
#   DECLIP_MM_VENV   the virtual environment         (default: $DECLIP_MM_HOME/venv-py311)
#   wheels/          built mmcv wheels, keyed by mmcv, torch, python, CUDA and GPU architectures
#   FORCE_CUDA       1: build mmcv's CUDA ops without a visible GPU; 0: never build them
#   TORCH_CUDA_ARCH_LIST  GPU architectures of the CUDA build (default "8.0;9.0+PTX")
#
# Traps fixed here (measured on Python 3.11, torch 2.14.1, 2 cores):
#   * mmcv 2.1.0 has no wheel for torch 2.14 -> built from the sdist with its compiled ops.
#   * its setup.py imports pkg_resources (gone from setuptools >= 81) -> setuptools>=77,<81 and
#     --no-build-isolation against the installed torch.
#   * torch 2.14 headers need C++20 but mmcv passes -std=c++14/17 -> the flags are rewritten.
#   * CUDA ops are built where nvcc and a CUDA build of torch exist and either a GPU is visible or
#     FORCE_CUDA=1. Without a GPU (CI) the CPU build is kept: the ~60 CUDA sources would add
#     about an hour per architecture pair on 2 cores for ops nobody can run there.
#   * the CUDA headers torch needs (cublas, cusparse, ...) may live only in pip's nvidia/*
#     packages, not in CUDA_HOME -> they are added to CPATH for the build.
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

# `python -c "$STACK_PY" flavour` prints the mmcv build this machine should get: "cpu", or CUDA
# ("cu130") where nvcc and a CUDA torch exist and a GPU is visible or FORCE_CUDA=1 (FORCE_CUDA=0
# keeps the CPU build). `... check` fails unless the stack imports and mmcv has that flavour.
STACK_PY='
import os, shutil, sys, torch
force, cuda = os.environ.get("FORCE_CUDA", ""), torch.version.cuda
want = bool(force != "0" and shutil.which("nvcc") and cuda
            and (force == "1" or torch.cuda.is_available()))
if sys.argv[1] == "flavour":
    print("cu" + cuda.replace(".", "") if want else "cpu")
else:
    import mmcv, mmdet, mmseg, mmengine, open_clip, timm, pycocotools
    from mmcv.ops import nms, RoIAlign, get_compiling_cuda_version  # compiled ops must be present
    sys.exit(0 if (get_compiling_cuda_version() != "not available") == want else 1)
'

have_stack() {
  [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$STAMP_KEY" ] &&
    "$VENV/bin/python" -c "$STACK_PY" check >/dev/null 2>&1
}

# Sets CUDA_HOME (where cuda_runtime.h lives; nvcc may be a wrapper script) and, when the CUDA
# libraries' headers come from pip's nvidia packages only, adds them to CPATH.
cuda_build_env() {
  local py="$1" c inc
  for c in "${CUDA_HOME:-}" "$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")" /usr/local/cuda; do
    if [ -n "$c" ] && [ -f "$c/include/cuda_runtime.h" ]; then export CUDA_HOME="$c"; break; fi
  done
  [ -n "${CUDA_HOME:-}" ] || { log "nvcc found but no CUDA_HOME with include/cuda_runtime.h; set CUDA_HOME"; exit 1; }
  if [ ! -f "$CUDA_HOME/include/cublas_v2.h" ]; then
    inc="$("$py" -c 'import glob, os, nvidia; print(":".join(sorted(d for p in nvidia.__path__ for d in glob.glob(os.path.join(p, "*", "include")))))' 2>/dev/null || true)"
    [ -n "$inc" ] && export CPATH="$inc${CPATH:+:$CPATH}"
  fi
}

# Builds (or finds in the cache) the mmcv wheel for $VENV's python; prints its path.
build_mmcv_wheel() {
  local py="$VENV/bin/python" flavour tag wheel src archs
  local extra=(MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}")
  flavour="$("$py" -c "$STACK_PY" flavour)"
  tag="mmcv${MMCV}-$("$py" -c 'import sys, torch; print("torch%s-py%d%d" % (torch.__version__.split("+")[0], *sys.version_info[:2]))')-${flavour}"
  if [ "$flavour" != cpu ]; then
    archs="${TORCH_CUDA_ARCH_LIST:-8.0;9.0+PTX}"
    tag="$tag-sm$(printf '%s' "$archs" | tr -d '.' | tr ' ;' '__')"
    cuda_build_env "$py"
    extra+=(FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST="$archs")
  fi
  mkdir -p "$WHEELS/$tag"
  wheel="$(ls "$WHEELS/$tag"/mmcv-*.whl 2>/dev/null | head -n1 || true)"
  if [ -z "$wheel" ]; then
    if [ "$flavour" = cpu ]; then
      log "building mmcv $MMCV with compiled ops (cpu); about 13 minutes on 2 cores, done once"
    else
      log "building mmcv $MMCV with CUDA ops ($flavour, archs $archs, CUDA_HOME $CUDA_HOME): ~25 CPU-s per CUDA source and arch (59 sources), done once"
    fi
    src="$(mktemp -d)"
    pipq "$py" -m pip install -q "setuptools>=77,<81" wheel >&2
    pipq "$py" -m pip download -q --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV" -d "$src" >&2
    tar xzf "$src"/mmcv-$MMCV.tar.gz -C "$src"
    sed -i 's/-std=c++1[47]/-std=c++20/g; s#/std:c++1[47]#/std:c++20#g' "$src/mmcv-$MMCV/setup.py"
    (cd "$src/mmcv-$MMCV" && pipq env "${extra[@]}" \
      "$py" -m pip wheel -q --no-deps --no-build-isolation . -w "$WHEELS/$tag.partial") >&2
    mv "$WHEELS/$tag.partial"/mmcv-*.whl "$WHEELS/$tag/"
    rm -rf "$src" "$WHEELS/$tag.partial"
    wheel="$(ls "$WHEELS/$tag"/mmcv-*.whl | head -n1)"
  else
    log "reusing cached $wheel"
  fi
  echo "$wheel"
}

build_mmcv() {
  local wheel
  wheel="$(build_mmcv_wheel)"
  pipq "$VENV/bin/python" -m pip install -q --no-deps --force-reinstall "$wheel"
}

if [ "${1:-}" = --mmcv-wheel ]; then
  [ -x "$VENV/bin/python" ] || { log "--mmcv-wheel: no python at $VENV/bin/python (DECLIP_MM_VENV)"; exit 1; }
  build_mmcv_wheel
  exit 0
fi

if ! have_stack; then
  [ -x "$VENV/bin/python" ] || { log "creating $VENV"; mkdir -p "$(dirname "$VENV")"; "$PY_BOOT" -m venv "$VENV"; }
  PY="$VENV/bin/python"
  pipq "$PY" -m pip install -q --upgrade pip "setuptools>=77,<81" wheel
  log "installing torch $TORCH and the pinned stack"
  pipq "$PY" -m pip install -q "${PINS[@]}"
  # mmdet / mmseg declare mmcv>=2.0.0rc4,<2.2.0 and would pull an unusable wheel: build it first.
  "$PY" -c "$STACK_PY" check >/dev/null 2>&1 || build_mmcv
  echo "$STAMP_KEY" > "$STAMP"
fi

PY="$VENV/bin/python"
# -P: look for the installed declip_mm only, not the one in the current folder (the repo root)
if [ "$("$PY" -P -c 'import declip_mm, os; print(os.path.dirname(os.path.dirname(os.path.abspath(declip_mm.__file__))))' 2>/dev/null || true)" != "$REPO" ]; then
  log "installing declip_mm from $REPO (editable)"
  pipq "$PY" -m pip install -q --no-deps --no-build-isolation -e "$REPO"
fi
echo "$PY"
