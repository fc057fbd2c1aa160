"""Same-process A/B of F-ViT inference and the CLIM F-VLM peer's, call by call, stage by stage.

Both detectors are built in one process with random weights (ViT-B/16, 640 x 640, batch 1,
no gradients): ours from ``configs/ovcoco/declip_fvit.py`` with the OpenAI ViT-B/16 tower (the
peer's), built as ``tools/benchmark.py`` builds it; the peer is wusize/CLIM's F-VLM OV-COCO
config, unpatched, on the open_clip copy its checkout bundles (``bench_backbone_peer``). The
calls alternate (``ours, peer, ...``) round by round, so load on a shared machine falls on all
variants alike. Variants:

* ``ours``: F-ViT as configured (CLIPSelf's F-ViT test cfg: RPN ``nms_pre=2000``);
* ``peer``: the F-VLM as configured (mmdet's Faster R-CNN default: RPN ``nms_pre=1000``);
* ``peer-rpn2000``: the peer with F-ViT's RPN ``nms_pre=2000`` (same proposal settings as ours);
* ``ours-rpn1000``: ours with the peer's ``nms_pre=1000``;
* ``ours-valueonly``: ours with the peer's last block (``mode='maskclip'``: value-only attention
  with residual and MLP); against ``ours`` it isolates the cost of the method's csa block;
* ``ours-mmcvroi`` / ``ours-tvroi``: ours with the 7x7 box features pooled by mmcv's compiled
  RoIAlign / torchvision's (same algorithm, ``aligned=True``; equal outputs);
* ``ours-gelu``: ours with ``nn.GELU`` in the tower's MLPs, as the peer builds its tower
  (open_clip's ``ViT-B-16`` without ``quick_gelu``); ours uses QuickGELU, the activation the
  OpenAI weights were trained with, three elementwise passes instead of one.

The random heads give different score distributions, so the RoI post-processing (mmdet's
``multiclass_nms`` in both) sees different (box, class) candidate counts; ``--same-post`` also
times both heads' ``predict_by_feat`` on one shared input. Per stage it prints medians in ms
(``declip_mm.benchmarks.models.FVIT_STAGES``) with the RPN and RoI NMS candidate counts::

    git clone https://github.com/wusize/CLIM /tmp/clim
    python tools/dev/bench_fvit_peer.py --clim-repo /tmp/clim [--rounds 6] [--json F]
"""
import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time

import torch


PEER_CONFIG = ('ovdet/configs/clip_based/openai_vitb16/'
               'faster_rcnn_fpn_openai_vitb16_clim_bs64_ov_coco_3e.py')
PEER_EMBEDDINGS = 'ovdet/data/metadata/coco_openai_vitb16_hand_craft_with_background.npy'
VARIANTS = ('ours', 'peer', 'peer-rpn2000', 'ours-rpn1000', 'ours-valueonly', 'ours-gelu',
            'ours-mmcvroi', 'ours-tvroi')


def build_peer_detector(clim: str):
    """CLIM's F-VLM (ViT-B/16, OV-COCO config) with random weights, SyncBN -> BN."""
    from bench_backbone_peer import bundled_open_clip
    from mmdet.registry import MODELS
    from mmengine.config import Config
    with bundled_open_clip(clim):
        cfg = Config.fromfile(os.path.join(clim, PEER_CONFIG))
        m, bn = cfg.model, dict(type='BN', requires_grad=True)
        m.backbone.pretrained = None
        m.backbone.norm_cfg = m.neck.norm_cfg = m.roi_head.bbox_head.norm_cfg = bn
        head = m.roi_head.bbox_head
        head.cls_embeddings_path = os.path.join(clim, 'ovdet', head.cls_embeddings_path)
        torch.manual_seed(0)
        model = MODELS.build(m)
    model.init_weights()
    return model.eval()


def build_ours(clim: str, tmp: str, own_text: bool = False):
    """F-ViT of ``configs/ovcoco/declip_fvit.py`` on the ViT-B/16 tower, random weights.

    Its classes are embedded as the peer's are: the rows of the peer's OpenAI ViT-B/16 text
    embeddings (``coco_openai_vitb16_hand_craft_with_background.npy``, 80 COCO classes and
    "background") for its 65 classes, in F-ViT's ``{name: (D,)}`` file layout. With
    ``own_text``, the random tiny text tower of ``tools/benchmark.py`` instead, whose near-equal
    class embeddings make nearly every (box, class) pair pass the score threshold.
    """
    import numpy as np
    from declip_mm.benchmarks.models import build_model_and_optim
    from mmdet.datasets import CocoDataset

    from declip_mm.models.detectors.vocabulary import DeCLIPVocabulary
    args = argparse.Namespace(fvit_arch='ViT-B-16', quick=False)
    model, _, _, _ = build_model_and_optim('fvit', args)
    if not own_text:
        rows = torch.from_numpy(np.load(os.path.join(clim, PEER_EMBEDDINGS)))
        table = dict(zip(CocoDataset.METAINFO['classes'] + ('background',), rows))
        path = os.path.join(tmp, 'peer_class_embeddings.pt')
        torch.save(table, path)
        vocab = model.vocabulary
        model.vocabulary = DeCLIPVocabulary(vocab.names, None, None, path)
        model.vocabulary.base_keys = vocab.base_keys
    return model.eval()


@contextlib.contextmanager
def setting(model, nms_pre=None, mode=None, gelu=False, roi_torchvision=None):
    """Temporarily change the RPN's test ``nms_pre``, the backbone's last-block mode,
    (``gelu``) the MLP activation of our OpenAI-style tower to ``nn.GELU``, and / or which
    RoIAlign kernel the 7x7 box-feature extractor runs (``use_torchvision``)."""
    cfg, backbone = model.rpn_head.test_cfg, model.backbone
    layers = list(model.roi_head.bbox_roi_extractor.roi_layers)
    kernels = [layer.use_torchvision for layer in layers]
    for layer in layers:
        layer.use_torchvision = kernels[0] if roi_torchvision is None else roi_torchvision
    saved = cfg.nms_pre, getattr(backbone, 'mode', None)
    mlps = [b.mlp for b in backbone.ops.blocks(backbone.visual)] if gelu else []
    acts = [m.gelu for m in mlps]
    cfg.nms_pre = nms_pre or cfg.nms_pre
    backbone.mode = mode or saved[1]
    for m in mlps:
        m.gelu = torch.nn.GELU()
    try:
        yield
    finally:
        cfg.nms_pre, backbone.mode = saved
        for layer, kernel in zip(layers, kernels):
            layer.use_torchvision = kernel
        for m, act in zip(mlps, acts):
            m.gelu = act


class RpnCounter:
    """Counts the boxes entering the RPN's NMS (``_bbox_post_process``'s ``results``)."""

    def __init__(self, model):
        self.head, self.counts = model.rpn_head, []
        fn = self.head._bbox_post_process

        def counted(results, *a, **kw):
            self.counts.append(len(results))
            return fn(results, *a, **kw)
        self.head._bbox_post_process = counted

    def take(self) -> int:
        n, self.counts = sum(self.counts), []
        return n


def same_input_post(ours, peer, batch, rounds: int) -> dict:
    """Both heads' ``predict_by_feat`` on the peer's own RoI outputs of one image, alternately:
    the post-processing code alone, on identical (box, class) candidates."""
    captured = {}
    head = peer.roi_head.bbox_head
    fn = head.predict_by_feat

    def capture(**kw):
        captured.update(kw)
        return fn(**kw)
    head.predict_by_feat = capture
    peer.test_step(batch)
    del head.predict_by_feat
    thr = captured['rcnn_test_cfg'].score_thr
    n = sum(int((s[:, :-1] > thr).sum()) for s in captured['cls_scores'])
    fns = dict(ours=lambda: ours.roi_head.bbox_head.predict_by_feat(**captured),
               peer=lambda: head.predict_by_feat(**captured))
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    return dict(candidates=n, **{k: statistics.median(v) * 1e3 for k, v in times.items()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--clim-repo', required=True)
    ap.add_argument('--rounds', type=int, default=6)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--variants', default=','.join(VARIANTS))
    ap.add_argument('--same-post', action='store_true')
    ap.add_argument('--own-text', action='store_true',
                    help="ours with tools/benchmark.py's random tiny text tower")
    ap.add_argument('--json', help='write the per-round times here')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from declip_mm.benchmarks.models import StageTimer, det_batch
    clim = os.path.abspath(args.clim_repo)
    peer = build_peer_detector(clim)
    with tempfile.TemporaryDirectory() as tmp:
        ours = build_ours(clim, tmp, args.own_text)
    models = dict(ours=ours, peer=peer)
    print('MLP activations: ' + ', '.join(
        f'{k} {type(m.backbone.visual.transformer.resblocks[0].mlp.gelu).__name__}'
        for k, m in models.items()))
    timers = dict(ours=StageTimer(ours, False), peer=StageTimer(peer, True))
    rpn = dict(ours=RpnCounter(ours), peer=RpnCounter(peer))
    specs = {'ours': ('ours', {}), 'peer': ('peer', {}),
             'peer-rpn2000': ('peer', dict(nms_pre=2000)),
             'ours-rpn1000': ('ours', dict(nms_pre=1000)),
             'ours-valueonly': ('ours', dict(mode='maskclip')),
             'ours-gelu': ('ours', dict(gelu=True)),
             'ours-mmcvroi': ('ours', dict(roi_torchvision=False)),
             'ours-tvroi': ('ours', dict(roi_torchvision=True))}
    names = [v for v in args.variants.split(',') if v]
    runs = {v: [] for v in names}

    def call(variant: str) -> dict:
        who, kw = specs[variant]
        model, timer = models[who], timers[who]
        timer.reset()
        with torch.no_grad(), setting(model, **kw):
            t, c = time.perf_counter(), time.process_time()
            model.test_step(det_batch(640))
            total, cpu = time.perf_counter() - t, time.process_time() - c
        return dict(total=total, cpu=cpu, stages=dict(timer.times), rpn_nms_in=rpn[who].take(),
                    roi_nms_in=sum(timer.candidates))

    for v in names:  # warm-up
        call(v)
    for r in range(args.rounds):
        order = names if r % 2 == 0 else names[::-1]
        for v in order:
            runs[v].append(call(v))
        print(f'round {r + 1}: ' + ', '.join(f'{v} {runs[v][-1]["total"]:.2f}s' for v in names),
              flush=True)
    med = lambda xs: statistics.median(xs)  # noqa: E731
    print(f'\n{args.rounds} rounds, {args.threads} threads; medians (ms), per-round spread')
    stages = list(next(iter(runs.values()))[0]['stages'])
    rows = [('total', lambda x: x['total']), ('total CPU time', lambda x: x['cpu'])] + [
        (s, lambda x, s=s: x['stages'].get(s, 0.0)) for s in stages]
    print('| stage | ' + ' | '.join(names) + ' |\n|---|' + '---|' * len(names))
    for label, get in rows:
        print(f'| {label} | ' + ' | '.join(f'{med([get(x) for x in runs[v]]) * 1e3:.0f}'
                                          for v in names) + ' |')
    for key in ('rpn_nms_in', 'roi_nms_in'):
        print(f'| {key} | ' + ' | '.join(f'{med([x[key] for x in runs[v]]):.0f}'
                                        for v in names) + ' |')
    out = dict(rounds=args.rounds, threads=args.threads, runs=runs)
    for a, b in (('ours', 'peer'), ('ours', 'peer-rpn2000'), ('ours-rpn1000', 'peer'),
                 ('ours', 'ours-valueonly'), ('ours', 'ours-gelu'),
                 ('ours-gelu', 'peer-rpn2000'), ('ours-tvroi', 'ours-mmcvroi'),
                 ('ours-tvroi', 'peer-rpn2000'), ('ours-tvroi', 'peer')):
        for key in ('total', 'cpu'):
            if a in runs and b in runs:
                ratios = [x[key] / y[key] for x, y in zip(runs[a], runs[b])]
                out[f'{a}/{b} {key}'] = ratios
                print(f'{a} / {b} ({key}): median {med(ratios):.3f} (per round '
                      f'{min(ratios):.3f}-{max(ratios):.3f})')
    if args.same_post:
        out['same_post'] = same_input_post(ours, peer, det_batch(640), args.rounds)
        print('post-processing on one shared input:', out['same_post'])
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=1)


if __name__ == '__main__':
    main()
