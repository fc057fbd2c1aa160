"""Side-by-side CPU timing of declip_mm's F-ViT and the F-VLM detector of wusize/CLIM (the
performance issue's peer), both ViT-B/16 at 640 x 640, random weights, batch 1, 2 threads.

The peer runs unpatched from a local checkout of wusize/CLIM (its ``ovdet`` package and the
open_clip copy in ``src/``; SyncBN -> BN, no pretrained file). Each call times one detector
in its own process (median of 3 after a warm-up); run the two alternately::

    python tools/dev/bench_peer_fvlm.py ours
    python tools/dev/bench_peer_fvlm.py peer --clim-repo /path/to/CLIM
"""
import argparse
import os
import resource
import statistics
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [os.path.join(ROOT, 'tools'), ROOT]


def median_times(fn, repeats: int = 3):
    """Median wall and process-CPU seconds of ``fn`` after one warm-up call."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t, p = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - p)
    return statistics.median(wall), statistics.median(cpu)


def build_peer(clim: str):
    """CLIM's ViT-B/16 F-VLM OV-COCO config with random weights; ``(model, optim_wrapper)``."""
    sys.path[:0] = [os.path.join(clim, 'src'), os.path.join(clim, 'ovdet')]
    os.chdir(os.path.join(clim, 'ovdet'))  # its configs name files relative to it
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    register_all_modules()
    import ovdet  # noqa: F401  (registers the peer's modules)
    cfg = Config.fromfile('configs/clip_based/openai_vitb16/'
                          'faster_rcnn_fpn_openai_vitb16_clim_bs64_ov_coco_3e.py')
    m, bn = cfg.model, dict(type='BN', requires_grad=True)
    m.backbone.pretrained = None
    m.backbone.norm_cfg = m.neck.norm_cfg = m.roi_head.bbox_head.norm_cfg = bn
    torch.manual_seed(0)
    model = MODELS.build(m)
    model.init_weights()
    optim = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4))
    return model, build_optim_wrapper(model, optim)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('which', choices=['ours', 'peer'])
    p.add_argument('--clim-repo', help='local checkout of wusize/CLIM (for "peer")')
    p.add_argument('--threads', type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from benchmark_models import build_model_and_optim, det_batch
    if args.which == 'peer':
        model, optim = build_peer(os.path.abspath(args.clim_repo))
    else:
        model, optim, _, _ = build_model_and_optim(
            'fvit', argparse.Namespace(quick=False, fvit_arch='ViT-B-16'))
    model.eval()
    with torch.no_grad():
        infer = median_times(lambda: model.test_step(det_batch(640)))
    rss_infer = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    model.train()
    train = median_times(lambda: model.train_step(det_batch(640), optim))
    rss_train = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    print(f'{args.which}: inference {infer[0]:.2f} s ({infer[1]:.1f} CPU-s), peak '
          f'{rss_infer:.2f} GiB | training iteration {train[0]:.2f} s ({train[1]:.1f} CPU-s), '
          f'peak {rss_train:.2f} GiB')


if __name__ == '__main__':
    main()
