"""Repeat small 2-process (gloo, CPU) training and testing runs; count exit statuses and kept
checkpoints (docs/reliability.md, "Many processes").

    python tools/dev/repeat_dist_runs.py --runs 20 --out work_dirs/dist_repeat

Each round: ``tools/dist_train.sh`` on the tiny mmseg config (tests/configs/tiny_seg.py, 4
iterations, a checkpoint every 2), then ``tools/dist_test.sh`` on its final checkpoint. A round
passes when both exit 0 and ``iter_4.pth`` exists and loads.
"""
import argparse
import os
import os.path as osp
import socket
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(cmd, cwd, log) -> int:
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1',
               PYTHONPATH=ROOT, HF_HUB_OFFLINE='1')
    with open(log, 'w') as f:
        return subprocess.run(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT,
                              timeout=900).returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--out', default='work_dirs/dist_repeat')
    args = parser.parse_args()
    from declip_mm.testing import make_tiny_seg
    from declip_mm.checkpoint import safe_torch_load
    out = osp.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    make_tiny_seg(osp.join(out, 'data', 'tiny_seg'), num_images=8)
    cfg = osp.join(ROOT, 'tests', 'configs', 'tiny_seg.py')
    opts = ['--cfg-options', 'val_dataloader=None', 'val_cfg=None', 'val_evaluator=None',
            'find_unused_parameters=True']
    passed = 0
    for i in range(args.runs):
        work = osp.join(out, f'run{i}')
        start = time.time()
        train = run(['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), cfg, '2',
                     '--work-dir', work, *opts], out, osp.join(out, f'train{i}.log'))
        ckpt = osp.join(work, 'iter_4.pth')
        kept = osp.isfile(ckpt) and safe_torch_load(ckpt)['meta']['iter'] == 4
        test = run(['bash', osp.join(ROOT, 'tools', 'dist_test.sh'), cfg, ckpt, '2',
                    '--work-dir', work + '_test'], out, osp.join(out, f'test{i}.log')) \
            if kept else -1
        ok = train == 0 and test == 0 and kept
        passed += ok
        print(f'run {i + 1}: train exit {train}, checkpoint kept {kept}, test exit {test} '
              f'({time.time() - start:.0f} s)', flush=True)
    print(f'{passed} of {args.runs} rounds passed')


if __name__ == '__main__':
    main()
