#!/usr/bin/env bash
# Multi-process training with torchrun:
#   bash tools/dist_train.sh CONFIG NUM_PROCS [train.py args]
# One process per GPU (or, without GPUs, per CPU worker on the gloo backend). Multi-node: run the
# same command on every node with NNODES, NODE_RANK, MASTER_ADDR (and PORT) set. PYTHON picks the
# interpreter (default: python). Slurm: see docs/reliability.md (srun ... tools/train.py --launcher slurm).
set -euo pipefail
CONFIG=$1; NPROC=$2; shift 2
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "${PYTHON:-python}" -m torch.distributed.run --nnodes="${NNODES:-1}" \
  --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
  --master_port="${PORT:-29500}" --nproc_per_node="$NPROC" \
  "$DIR/train.py" "$CONFIG" --launcher pytorch "$@"
