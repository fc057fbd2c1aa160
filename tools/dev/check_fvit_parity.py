"""Whole-detector parity: CLIPSelf's F-ViT (mmdet 2) vs declip_mm's DeCLIPFViT on the same weights.

    python tools/dev/check_fvit_parity.py --clipself CLIPSELF_DIR \
        --side-python /work/side/fvit/venv/bin/python [--config ov_coco/...py] [--size 320] \
        [--images 2] [--proposals 300] [--json OUT.json] [--fixture OUT.pt]

1. ``tools/dev/fvit_parity_upstream.py`` runs in the side environment (mmdet 2.28, mmcv-full
   1.7, CLIPSelf's code imported from ``--clipself``): it builds CLIPSelf's F-ViT from one of its
   own configs with random weights and saves the weights in CLIPSelf's layout, the inputs and
   every stage's output.
2. Here the weights go through ``declip_mm.checkpoint.layouts.clipself_fvit`` and are loaded
   strictly into the matching ``DeCLIPFViT`` (``mode='maskclip'``: CLIPSelf's "original"
   last block, the same class-embedding file with its background row, ``background='text'``,
   F-ViT's head), which then sees the same normalised images.
3. Compared: the four pyramid maps (the adapters' outputs), the dense VLM map, the FPN maps,
   the RPN proposals (boxes and scores), the fused class scores and box deltas of the *same*
   RoIs (upstream's proposals), and the final detections (boxes, scores, labels, top-100).

Target: maps and scores within 1e-4 in fp32 and the same detections. ``--fixture`` writes a
small file (inputs + expected outputs of a tiny run, no upstream code) for a unit test.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from typing import Dict, List

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='CLIPSelf F-ViT vs declip_mm DeCLIPFViT parity')
    p.add_argument('--clipself', required=True, help='local checkout of wusize/CLIPSelf')
    p.add_argument('--side-python', required=True,
                   help='python of the mmdet 2.28 / mmcv-full 1.7 side environment')
    p.add_argument('--config',
                   default='ov_coco/fvit_vitb16_upsample_fpn_bs64_3e_ovcoco_eva_original.py')
    p.add_argument('--size', type=int, default=320)
    p.add_argument('--images', type=int, default=2)
    p.add_argument('--proposals', type=int, default=300)
    p.add_argument('--upstream', help='reuse a saved upstream run instead of running it')
    p.add_argument('--json', help='write the figures here')
    p.add_argument('--tiny', action='store_true',
                   help='a tiny EVA tower instead of the config\'s (fixture runs)')
    p.add_argument('--fixture', help='save the upstream run (tensors only) here for a unit test')
    return p.parse_args(argv)


def run_upstream(args: argparse.Namespace, path: str) -> None:
    cmd = [args.side_python, os.path.join(ROOT, 'tools', 'dev', 'fvit_parity_upstream.py'),
           '--clipself', os.path.abspath(args.clipself), '--out', path, '--config', args.config,
           '--size', str(args.size), '--images', str(args.images),
           '--proposals', str(args.proposals)] + (['--tiny'] if args.tiny else [])
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit('upstream run failed:\n' + proc.stdout[-3000:] + proc.stderr[-6000:])
    print(proc.stdout.strip().splitlines()[-1])


def upstream_arch(config: str) -> Dict:
    """Arch facts of a CLIPSelf F-ViT config name (B/16 or L/14)."""
    if 'vitl14' in config:
        return dict(arch='EVA02-CLIP-L-14-336', width=1024, embed=768, patch=14,
                    indices=(6, 10, 14, 23), strides=[3.5, 7, 14, 28, 56])
    return dict(arch='EVA02-CLIP-B-16', width=768, embed=512, patch=16, indices=(3, 5, 7, 11),
                strides=[4, 8, 16, 32, 64])


def build_ours(up: Dict, emb_file: str, config: str):
    """The DeCLIPFViT of the benchmark config that matches CLIPSelf's ``config``."""
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    import declip_mm  # noqa: F401
    init_default_scope('mmdet')
    lvis = config.startswith('ov_lvis')
    a = upstream_arch(config)
    rel = {(False, 'EVA02-CLIP-B-16'): 'configs/ovcoco/declip_fvit.py',
           (False, 'EVA02-CLIP-L-14-336'):
               'configs/ovcoco/declip-fvit_eva02-l14_fpn_8xb8-3e_ov-coco-896.py',
           (True, 'EVA02-CLIP-B-16'):
               'configs/ovlvis/declip-fvit_eva02-b16_fpn_8xb8-48e_ov-lvis-1024.py',
           (True, 'EVA02-CLIP-L-14-336'):
               'configs/ovlvis/declip-fvit_eva02-l14_fpn_8xb8-48e_ov-lvis-896.py'}[lvis, a['arch']]
    cfg = Config.fromfile(os.path.join(ROOT, rel)).model
    cfg.update(vocabulary=list(up['names']), base_classes=list(up['seen']), text_encoder=None,
               class_embeddings=emb_file)
    cfg.backbone.update(mode='maskclip', init_cfg=None)  # CLIPSelf's "original" last block
    bn = dict(type='BN', requires_grad=True)
    cfg.neck[0].norm_cfg = bn
    cfg.neck[1].norm_cfg = bn
    cfg.roi_head.bbox_head.norm_cfg = bn
    if cfg.rpn_head.get('norm_cfg') is not None:
        cfg.rpn_head.norm_cfg = bn
    if cfg.roi_head.get('mask_head') is not None:
        cfg.roi_head.mask_head = None
        cfg.roi_head.mask_roi_extractor = None
    cfg.test_cfg.rpn.max_per_img = up['proposals_per_img']
    if up.get('tiny_arch'):
        shrink_to_tiny(cfg, up['tiny_arch'])
    return MODELS.build(cfg), rel


def shrink_to_tiny(cfg, arch: Dict) -> None:
    """The same shrinking as the upstream ``--tiny`` run (a 4-block EVA tower, patch 8)."""
    vision = {k: v for k, v in arch['vision_cfg'].items()
              if k not in ('eva_model_name', 'xattn', 'fusedLN', 'intp_freq', 'drop_path_rate')}
    tiny = dict(embed_dim=arch['embed_dim'], vision_cfg=vision, text_cfg=arch['text_cfg'])
    width, embed = vision['width'], arch['embed_dim']
    cfg.backbone.update(arch=tiny, out_indices=(0, 1, 2, 3))
    cfg.neck[0].in_channels = width
    cfg.neck[1].update(in_channels=[width] * 4, out_channels=16)
    cfg.rpn_head.update(in_channels=16, feat_channels=16)
    cfg.rpn_head.anchor_generator.strides = [2, 4, 8, 16, 32]
    cfg.roi_head.bbox_roi_extractor.update(out_channels=16, featmap_strides=[2, 4, 8, 16])
    cfg.roi_head.bbox_head.update(in_channels=16, conv_out_channels=8, fc_out_channels=embed,
                                  embed_dim=embed)
    cfg.roi_head.vlm_roi_extractor.update(out_channels=embed, featmap_strides=[8])


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    if a.shape != b.shape:
        return float('inf')
    return (a.double() - b.double()).abs().max().item() if a.numel() else 0.0


def compare(up: Dict, model) -> Dict[str, object]:
    """Run our detector stage by stage on upstream's inputs; the figures of every stage."""
    from mmdet.structures import DetDataSample
    from mmdet.structures.bbox import bbox2roi
    from mmengine.structures import InstanceData
    img = up['inputs']
    n, _, h, w = img.shape
    samples = []
    for _ in range(n):
        s = DetDataSample()
        s.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                            scale_factor=(1.0, 1.0), batch_input_shape=(h, w)))
        samples.append(s)
    fig: Dict[str, object] = {}
    with torch.no_grad():
        maps, dense = model.extract_backbone(img)
        pyramid = model.neck[0](maps)
        fpn = model.neck[1](pyramid)
        fig['pyramid'] = [max_diff(a, b) for a, b in zip(pyramid, up['pyramid'])]
        fig['dense'] = max_diff(dense, up['dense'])
        fig['fpn'] = [max_diff(a, b) for a, b in zip(fpn, up['fpn'])]
        names = model.vocabulary.names
        model._use_classes(names)
        props = model.rpn_head.predict(fpn, samples, rescale=False)
        fig['proposal_counts'] = [[len(p), len(q)] for p, q in zip(props, up['proposals'])]
        fig['proposal_boxes'] = [nearest_box_diff(p.bboxes, q[:, :4]) for p, q in
                                 zip(props, up['proposals'])]
        fig['proposal_order_swaps'] = [
            int(((p.bboxes - q[:, :4]).abs().amax(1) > 0.1).sum()) if len(p) == len(q) else -1
            for p, q in zip(props, up['proposals'])]
        fig['proposal_scores'] = [max_diff(p.scores, q[:, 4]) for p, q in
                                  zip(props, up['proposals'])]
        rois = bbox2roi([q[:, :4] for q in up['proposals']])
        out = model.roi_head._bbox_forward(fpn, rois)
        vlm = model.roi_head.pool_vlm(dense, rois)
        probs = model.roi_head.bbox_head.class_probabilities(out['cls_score'], vlm)
        fig['roi_scores'] = max_diff(probs, up['roi_scores'])
        fig['roi_deltas'] = max_diff(out['bbox_pred'], up['roi_deltas'])
        given = [s.clone() for s in samples]
        for s, q in zip(given, up['proposals']):
            s.proposals = InstanceData(bboxes=q[:, :4], scores=q[:, 4])
        results = model.predict(img, given, rescale=False)
        own = model.predict(img, samples, rescale=False)
    # final detections from upstream's proposals, and from our own RPN end to end
    fig['detections'] = [match_detections(r.pred_instances, d, lb)
                         for r, d, lb in zip(results, up['dets'], up['labels'])]
    fig['detections_own_rpn'] = [match_detections(r.pred_instances, d, lb)
                                 for r, d, lb in zip(own, up['dets'], up['labels'])]
    return fig


def nearest_box_diff(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    """Largest distance (L-inf, px) from one of our boxes to the nearest upstream box: equal
    proposals whose near-tied scores sort in another order still match."""
    if len(ours) == 0 or len(theirs) == 0:
        return 0.0 if len(ours) == len(theirs) else float('inf')
    dist = (ours[:, None, :].double() - theirs[None, :, :].double()).abs().amax(-1)
    return dist.amin(1).max().item()


def match_detections(ours, dets: torch.Tensor, labels: torch.Tensor, top: int = 100) -> Dict:
    """Top-``top`` detections of both, each sorted by score: same labels, box / score diffs."""
    mine = torch.cat([ours.bboxes, ours.scores[:, None], ours.labels[:, None].float()], 1)
    theirs = torch.cat([dets, labels[:, None].float()], 1)
    mine = mine[mine[:, 4].argsort(descending=True, stable=True)][:top]
    theirs = theirs[theirs[:, 4].argsort(descending=True, stable=True)][:top]
    k = min(len(mine), len(theirs))
    return dict(count=[len(mine), len(theirs)],
                same_labels=int((mine[:k, 5] == theirs[:k, 5]).sum()),
                boxes=max_diff(mine[:k, :4], theirs[:k, :4]),
                scores=max_diff(mine[:k, 4], theirs[:k, 4]))


def verdict(fig: Dict, tol: float = 1e-4) -> List[str]:
    """Names of the stages outside the target: maps and scores within ``tol``; boxes within
    ``tol`` relative to the image side (fp32 rounding of decoded coordinates); the same top-100
    detections (count, order, labels). Detections of each detector's *own* proposals inherit the
    proposals' box rounding, so their scores are held to ``10 * tol``."""
    bad = []
    box_tol = tol * fig['size']
    for key in ('pyramid', 'fpn', 'proposal_scores'):
        if max(fig[key]) > tol:
            bad.append(key)
    if max(fig['proposal_boxes']) > box_tol or any(a != b for a, b in fig['proposal_counts']):
        bad.append('proposal_boxes')
    for key in ('dense', 'roi_scores', 'roi_deltas'):
        if fig[key] > tol:
            bad.append(key)
    for key, score_tol in (('detections', tol), ('detections_own_rpn', 10 * tol)):
        for i, d in enumerate(fig[key]):
            if d['count'][0] != d['count'][1] or d['same_labels'] != d['count'][0] \
                    or d['scores'] > score_tol or d['boxes'] > box_tol:
                bad.append(f'{key}[{i}]')
    return bad


def run_ours(up: Dict, work: str):
    """Convert upstream's weights, load them strictly into our F-ViT, compare every stage.

    Returns:
        ``(figures, missing keys, unexpected keys, our config, converted tensor count)``.
    """
    from declip_mm.checkpoint.layouts.clipself_fvit import check_fits, convert_clipself_fvit
    emb_file = os.path.join(work, 'classes_with_background.pt')
    torch.save(up['class_table'], emb_file)
    model, rel = build_ours(up, emb_file, up['config'])
    sd = convert_clipself_fvit(up['state_dict'])
    check_fits(sd, model.state_dict())
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.startswith('vocabulary.')]
    model.eval()
    return compare(up, model), missing, list(unexpected), rel, len(sd)


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(int(os.environ.get('PARITY_THREADS', '2')))
    work = tempfile.mkdtemp(prefix='fvit_parity_')
    path = args.upstream or os.path.join(work, 'upstream.pt')
    if not args.upstream:
        run_upstream(args, path)
    up = torch.load(path, map_location='cpu', weights_only=False)
    if args.fixture:  # tensors only; the raw pixels and RoPE tables are not needed
        keep = {k: v for k, v in up.items() if k != 'rgb'}
        keep['state_dict'] = {k: v for k, v in up['state_dict'].items() if 'rope.' not in k}
        torch.save(keep, args.fixture)
        print(f'fixture: {os.path.getsize(args.fixture) / 1e3:.0f} kB -> {args.fixture}')
    fig, missing, unexpected, rel, n = run_ours(up, work)
    fig.update(config=up['config'], ours=rel, size=up['size'], images=len(up['inputs']),
               converted_tensors=n, missing=missing, unexpected=list(unexpected))
    fig['failing'] = verdict(fig)
    text = json.dumps(fig, indent=1)
    print(text)
    if args.json:
        with open(args.json, 'w') as f:
            f.write(text + '\n')
    print('PARITY ' + ('OK' if not fig['failing'] and not missing and not unexpected
                       else f'FAILED: {fig["failing"]} missing={missing[:5]} '
                            f'unexpected={list(unexpected)[:5]}'))


if __name__ == '__main__':
    main()
