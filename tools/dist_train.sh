#!/usr/bin/env bash
# Multi-process training with torchrun: bash tools/dist_train.sh CONFIG NUM_PROCS [train.py args]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on every node. On CPU the gloo
# backend is used automatically (mmengine picks it when CUDA is absent).
set -euo pipefail
CONFIG=$1; NPROC=$2; shift 2
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec python -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
  --nproc_per_node="$NPROC" "$DIR/train.py" "$CONFIG" --launcher pytorch "$@"
