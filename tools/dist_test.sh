#!/usr/bin/env bash
# Multi-process testing with torchrun:
#   bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py args]
# One process per GPU (or, without GPUs, per CPU worker on the gloo backend). Multi-node: run the
# same command on every node with NNODES, NODE_RANK, MASTER_ADDR (and PORT) set. PYTHON picks the
# interpreter (default: python). Slurm: see docs/reliability.md.
set -euo pipefail
CONFIG=$1; CHECKPOINT=$2; NPROC=$3; shift 3
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "${PYTHON:-python}" -m torch.distributed.run --nnodes="${NNODES:-1}" \
  --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
  --master_port="${PORT:-29500}" --nproc_per_node="$NPROC" \
  "$DIR/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
