#!/usr/bin/env bash
# The GPU check of issue 20, as one command for a device machine with an NVIDIA GPU, nvcc and a
# CUDA build of torch but no network (this workplace's H200 image). From the repository root:
#
#   bash tools/dev/gpu_wheels.sh                 # HERE, once: fills .whl/ (git-ignored)
#   bash tools/dev/gpu_check.sh                  # THERE, with .whl carried; ~9 min on an H200
#
# Steps, each logged with its time to $OUT/gpu_check.log ($OUT, else outputs/gpu_check):
#   1. install the carried wheels (mmengine, mmdet, mmseg, open_clip, ...) into /tmp/site;
#   2. build mmcv 2.1.0 with its CUDA ops for this GPU's architecture only
#      (`tools/install.sh --mmcv-wheel`, FORCE_CUDA=1, TORCH_CUDA_ARCH_LIST = the GPU's
#      compute capability, offline from the carried sdist) and install it;
#   3. the GPU tests (tests/**/test_*_cuda.py) -> gpu_tests.xml;
#   4. `tools/benchmark.py --device cuda` -> benchmark_gpu.{json,md}; with CLIM_REPO=.clim (a
#      checkout of wusize/CLIM copied to the git-ignored .clim/ and carried, ~14 MB) the peer
#      F-VLM runs beside ours.
# GPU_CHECK_SKIP_BENCH=1 stops after the tests. A failing step is logged and the next one runs.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
OUT_DIR="${OUT:-$REPO/outputs/gpu_check}"
WHL="${GPU_CHECK_WHEELS:-$REPO/.whl}"
PY="${PYTHON:-python3}"
SITE=/tmp/declip_site
mkdir -p "$OUT_DIR" "$SITE"
exec > >(tee "$OUT_DIR/gpu_check.log") 2>&1
step() { echo "== $(date +%T) $*"; }
T0=$(date +%s)

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else "error: torch sees no CUDA GPU here; this script is for a GPU machine")' || exit 1
"$PY" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(), torch.cuda.get_device_capability())' || exit 1
nvcc --version | tail -1
[ -d "$WHL" ] || { echo "no wheel folder $WHL: run bash tools/dev/gpu_wheels.sh where pip works and carry .whl"; exit 1; }

step "packages from $WHL"
"$PY" -m pip install -q --no-index --no-deps --no-compile --target "$SITE" "$WHL"/*.whl || exit 1
export PYTHONPATH="$SITE:$REPO" HF_HUB_OFFLINE=1 PIP_NO_INDEX=1 PIP_FIND_LINKS="$WHL"

step "mmcv with CUDA ops for this GPU"
ARCH="$("$PY" -c 'import torch; print("%d.%d" % torch.cuda.get_device_capability())')"
# install.sh wants $DECLIP_MM_VENV/bin/python: a wrapper (a symlink could lose the venv's paths)
mkdir -p /tmp/declip_env/bin
printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v "$PY")" > /tmp/declip_env/bin/python
chmod +x /tmp/declip_env/bin/python
B0=$(date +%s)
WHEEL="$(DECLIP_MM_HOME=/tmp/declip_home DECLIP_MM_VENV=/tmp/declip_env FORCE_CUDA=1 \
  TORCH_CUDA_ARCH_LIST="$ARCH" MAX_JOBS="$(nproc)" bash tools/install.sh --mmcv-wheel)"
if [ -n "$WHEEL" ] && [ -f "$WHEEL" ]; then
  echo "built $WHEEL ($(du -h "$WHEEL" | cut -f1)) for sm_${ARCH/./} in $(( $(date +%s) - B0 )) s"
  "$PY" -m pip install -q --no-deps --no-compile --target "$SITE" --upgrade "$WHEEL"
  "$PY" -c 'from mmcv.ops import get_compiling_cuda_version as v; print("mmcv compiled with CUDA", v())'
else
  echo "mmcv build FAILED after $(( $(date +%s) - B0 )) s"
fi

step "GPU tests"
"$PY" -m pytest -q -p no:cacheprovider -rs --junitxml "$OUT_DIR/gpu_tests.xml" \
  tests/models/test_declip_vit_cuda.py tests/models/detectors/test_mmcv_ops_cuda.py \
  tests/models/detectors/test_fvit_cuda.py tests/models/segmentors/test_catseg_cuda.py

# the benchmark gets what is left of GPU_CHECK_LIMIT_S (default 570 s: one device command may
# run 600 s); it writes its JSON / markdown after each section, so a cut-off run keeps rows
LEFT=$(( ${GPU_CHECK_LIMIT_S:-570} - ($(date +%s) - T0) ))
if [ "${GPU_CHECK_SKIP_BENCH:-0}" = 1 ] || [ "$LEFT" -lt 60 ]; then
  step "GPU benchmark skipped (${LEFT} s left)"
else
  step "GPU benchmark (at most ${LEFT} s)"
  timeout "$LEFT" "$PY" tools/benchmark.py --device cuda ${CLIM_REPO:+--clim-repo "$CLIM_REPO"} \
    --out-json "$OUT_DIR/benchmark_gpu.json" --out-md "$OUT_DIR/benchmark_gpu.md" \
    || echo "benchmark FAILED or cut off (rc $?)"
fi
step "done in $(( $(date +%s) - T0 )) s"
