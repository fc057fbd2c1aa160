"""Multi-process runs without GPUs: the same ``torchrun`` / slurm launch, on the gloo backend.

mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and defaults to NCCL, and its DDP
wrapper passes ``device_ids=[LOCAL_RANK]``; all three fail on a machine without CUDA. With
GPUs nothing here applies and mmengine's own set-up runs unchanged. Without them,
:func:`setup_cpu_distributed` starts the gloo process group from the launcher's environment
(mmengine then sees it is initialised and skips ``init_dist``) and lets DDP wrap a CPU model.
"""
import os
import subprocess
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist


def _slurm_env() -> None:
    """RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR from slurm's variables (as mmengine does)."""
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ['SLURM_NODELIST']
        out = subprocess.getoutput(f'scontrol show hostname {nodes} | head -n1')
        os.environ['MASTER_ADDR'] = out.strip() or '127.0.0.1'
    os.environ.setdefault('MASTER_PORT', '29500')


def _mpi_env() -> None:
    os.environ.setdefault('RANK', os.environ['OMPI_COMM_WORLD_RANK'])
    os.environ.setdefault('WORLD_SIZE', os.environ['OMPI_COMM_WORLD_SIZE'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('OMPI_COMM_WORLD_LOCAL_RANK', '0'))
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ.setdefault('MASTER_PORT', '29500')


def setup_cpu_distributed(cfg: Any) -> bool:
    """Start gloo and make DDP accept a CPU model, when ``cfg.launcher`` asks for processes
    and CUDA is absent. Returns whether it did anything.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher == 'slurm':
        _slurm_env()
    elif launcher == 'mpi':
        _mpi_env()
    timeout = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout', 1800)
    if not dist.is_initialized():
        dist.init_process_group('gloo', timeout=timedelta(seconds=timeout))
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:
        wrapper = dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                       find_unused_parameters=cfg.get('find_unused_parameters', False))
    if str(wrapper.get('type', 'MMDistributedDataParallel')).endswith('DistributedDataParallel'):
        wrapper['device_ids'] = None  # a CPU module: DDP refuses device ids
    cfg.model_wrapper_cfg = wrapper
    return True


def is_launcher_main() -> bool:
    """Whether this process is rank 0 of its launcher (torchrun, slurm, mpi) or runs alone;
    readable before the process group exists."""
    for var in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        if os.environ.get(var) is not None:
            return os.environ[var] == '0'
    return True


def finish_distributed() -> None:
    """End a multi-process run cleanly: every rank waits for the others (rank 0 may still be
    writing its last checkpoint), then the process group is destroyed before exit. Exiting with
    the group alive lets a late rank fail on a closed connection and abort the job.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
