"""Same-process A/B of F-ViT's feature extractor and the CLIM F-VLM peer's, call by call.

Both ViT-B/16 at 640 x 640, random weights, batch 1, no gradients: ours is ``DeCLIPViT``
(csa last block, dense map) + ``DeCLIPPyramidAdapter``; the peer is CLIM's ``CLIPViT`` backbone
(its value-only last block, dense map and pyramid adapters), built from a local checkout of
wusize/CLIM with the open_clip copy it bundles. Separate processes differ by up to 20% on the
same modules on these machines (``tools/benchmark.py --clim-repo``); alternating the calls in
one process removes that. A third variant runs our ordinary blocks through
``nn.MultiheadAttention`` (the code before the SDPA block driver)::

    git clone https://github.com/wusize/CLIM /tmp/clim
    python tools/dev/bench_backbone_peer.py --clim-repo /tmp/clim [--rounds 10]
"""
import argparse
import os
import statistics
import time

import torch

from declip_mm.benchmarks.models import bundled_open_clip  # noqa: F401  (also used by bench_fvit_peer)


def build_peer_backbone(clim: str):
    """CLIM's ``CLIPViT`` (F-VLM ViT-B/16 config values) on its own open_clip copy."""
    from mmdet.registry import MODELS
    with bundled_open_clip(clim):
        torch.manual_seed(0)
        peer = MODELS.build(dict(
            type='CLIPViT', model_name='ViT-B-16', cache_dir=None, pretrained=None,
            out_indices=[3, 5, 7, 11], norm_cfg=dict(type='BN', requires_grad=True),
            roi_extractor=dict(type='SingleRoIExtractor', out_channels=512,
                               featmap_strides=[16],
                               roi_layer=dict(type='RoIAlign', output_size=1, sampling_ratio=0,
                                              use_torchvision=True))))
    peer.init_weights()
    return peer.eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--clim-repo', required=True)
    ap.add_argument('--rounds', type=int, default=10)
    ap.add_argument('--size', type=int, default=640)
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    peer = build_peer_backbone(os.path.abspath(args.clim_repo))
    from declip_mm.benchmarks.models import module_blocks

    from declip_mm.models.backbones import DeCLIPViT
    from declip_mm.models.detectors.pyramid_adapter import DeCLIPPyramidAdapter
    torch.manual_seed(0)
    ours = DeCLIPViT('ViT-B-16', mode='csa', out_dense=True, frozen=True).eval()
    adapter = DeCLIPPyramidAdapter(768, norm_cfg=dict(type='BN', requires_grad=True)).eval()
    x = torch.randn(1, 3, args.size, args.size)

    def run_ours():
        adapter(ours.features(x).maps)  # the dense map computed too (out_dense), as F-ViT does

    def run_before():
        with module_blocks(ours):
            run_ours()

    fns = dict(ours=run_ours, peer=lambda: peer(x), before=run_before)
    times = {k: [] for k in fns}
    with torch.no_grad():
        for fn in fns.values():
            fn()
        for _ in range(args.rounds):
            for name, fn in fns.items():
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
    ratio = lambda a, b: statistics.median(x / y for x, y in zip(times[a], times[b]))  # noqa
    print(f'{args.size}^2, {args.rounds} rounds: median s ' + ', '.join(
        f'{k} {statistics.median(v):.3f}' for k, v in times.items()))
    print(f'ours / peer {ratio("ours", "peer"):.3f} (per round '
          f'{min(a / b for a, b in zip(times["ours"], times["peer"])):.2f}-'
          f'{max(a / b for a, b in zip(times["ours"], times["peer"])):.2f}); '
          f'before / ours {ratio("before", "ours"):.3f}')


if __name__ == '__main__':
    main()
