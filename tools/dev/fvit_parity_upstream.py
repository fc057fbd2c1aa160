"""Upstream half of tools/dev/check_fvit_parity.py: run CLIPSelf's F-ViT on fixed inputs.

Runs in a SIDE environment with CLIPSelf's own stack (mmdet 2.28 + mmcv-full 1.7, CLIPSelf's
``src/open_clip``); it never imports declip_mm. It imports CLIPSelf's code at run time from a
local checkout and ships none of it:

    SIDE_PY tools/dev/fvit_parity_upstream.py --clipself CLIPSELF_DIR --out upstream.pt \
        [--config ov_coco/fvit_vitb16_upsample_fpn_bs64_3e_ovcoco_eva_original.py]

It builds the F-ViT of the given CLIPSelf config with random weights (no download: the EVA tower
is created without pretrained weights; SyncBN becomes BN on one process; xformers' attention is
routed to the plain branch, the same maths), draws random class embeddings for the config's
vocabulary (written as an F-ViT ``*_with_background_*.pt`` file), and saves to ``--out``: the
weights in CLIPSelf's layout, the inputs, the class files, and every stage's output (pyramid
maps, FPN maps, dense VLM map, RPN proposals, fused class scores of those proposals, final
detections).
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np
import torch


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--clipself', required=True, help='local checkout of wusize/CLIPSelf')
    p.add_argument('--out', required=True)
    p.add_argument('--config',
                   default='ov_coco/fvit_vitb16_upsample_fpn_bs64_3e_ovcoco_eva_original.py',
                   help='config under F-ViT/configs/')
    p.add_argument('--size', type=int, default=320, help='square input side')
    p.add_argument('--images', type=int, default=2)
    p.add_argument('--proposals', type=int, default=300, help='RPN max_per_img at test')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--tiny', action='store_true', help='a tiny EVA tower (fixture runs)')
    return p.parse_args()


def setup_imports(clipself: str) -> None:
    """Put CLIPSelf's open_clip and F-ViT packages first on the path; build towers offline."""
    sys.path[:0] = [os.path.join(clipself, 'src'), os.path.join(clipself, 'F-ViT')]
    import open_clip
    from open_clip import eva_clip

    def create_model(model_name, pretrained=None, cache_dir=None, device='cpu', **kwargs):
        # CLIPSelf passes pretrained='eva' + a local file; here: the same tower, random weights
        return eva_clip.create_model(model_name=model_name, pretrained=None,
                                     force_custom_clip=True, device=device)
    open_clip.create_model = create_model


TINY = dict(embed_dim=16,
            vision_cfg=dict(image_size=32, layers=4, width=16, head_width=8, patch_size=8,
                            mlp_ratio=2.6667, rope=True, subln=True, naiveswiglu=True,
                            pt_hw_seq_len=4, intp_freq=True, eva_model_name='eva-parity-tiny',
                            xattn=False, fusedLN=False, drop_path_rate=0.0),
            text_cfg=dict(context_length=77, vocab_size=49408, width=16, heads=2, layers=1))
"""A tiny EVA02 tower (4 blocks of width 16, 2 heads, patch 8) for the ``--tiny`` fixture run."""


def make_tiny(cfg) -> None:
    """Shrink a B/16 F-ViT config around the TINY tower (patch 8: strides 2-32, 16 channels)."""
    from open_clip.eva_clip import factory
    factory._MODEL_CONFIGS['EVA02-parity-tiny'] = TINY
    m = cfg.model
    m.backbone.update(model_name='EVA02-parity-tiny', out_indices=[0, 1, 2, 3])
    m.neck.update(in_channels=[TINY['vision_cfg']['width']] * 4, out_channels=16)
    m.rpn_head.update(in_channels=16, feat_channels=16)
    m.rpn_head.anchor_generator.strides = [2, 4, 8, 16, 32]
    m.roi_head.bbox_roi_extractor.update(out_channels=16, featmap_strides=[2, 4, 8, 16])
    m.roi_head.bbox_head.update(in_channels=16, conv_out_channels=8, fc_out_channels=16)
    m.roi_head.vlm_roi_extractor.update(out_channels=16, featmap_strides=[8])


def to_bn(cfg):
    """SyncBN / MMSyncBN -> BN everywhere in a config (one process, same maths in eval)."""
    if isinstance(cfg, dict):
        if cfg.get('type') in ('SyncBN', 'MMSyncBN'):
            cfg['type'] = 'BN'
        for v in cfg.values():
            to_bn(v)
    elif isinstance(cfg, (list, tuple)):
        for v in cfg:
            to_bn(v)


def randomize(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Random BN statistics / affine terms and biases (defaults are 0 / 1: too symmetric)."""
    for name, buf in model.named_buffers():
        if name.endswith('running_mean'):
            buf.copy_(torch.randn(buf.shape, generator=gen) * 0.1)
        elif name.endswith('running_var'):
            buf.copy_(torch.rand(buf.shape, generator=gen) * 0.5 + 0.75)
    for name, p in model.named_parameters():
        if name.startswith('backbone.visual.') or p.dim() != 1:
            continue  # the EVA tower and the weight matrices keep their initialisation
        noise = torch.randn(p.shape, generator=gen) * 0.05
        p.data.copy_(noise + 1 if name.endswith('weight') else noise)  # norm scales / biases


def main():
    args = parse_args()
    torch.set_num_threads(int(os.environ.get('PARITY_THREADS', '2')))
    setup_imports(args.clipself)
    fvit_dir = os.path.join(args.clipself, 'F-ViT')
    os.chdir(fvit_dir)  # the config's class-name json paths are relative to F-ViT/
    from mmcv import Config
    from mmdet.core import bbox2roi
    from mmdet.models import build_detector
    import models  # noqa: F401  (CLIPSelf's F-ViT registrations)

    cfg = Config.fromfile(os.path.join('configs', args.config))
    to_bn(cfg._cfg_dict)
    if args.tiny:
        make_tiny(cfg)
    head = cfg.model.roi_head.bbox_head
    names = json.load(open(head.all_classes))
    seen = json.load(open(head.seen_classes))
    gen = torch.Generator().manual_seed(args.seed)
    embed_dim = cfg.model.roi_head.vlm_roi_extractor.out_channels
    table = {n: torch.nn.functional.normalize(torch.randn(embed_dim, generator=gen), dim=0)
             for n in names + ['background']}
    tmp = tempfile.mkdtemp(prefix='fvit_parity_')
    head.class_embed = os.path.join(tmp, 'classes_with_background.pt')
    torch.save(table, head.class_embed)
    cfg.model.test_cfg.rpn.max_per_img = args.proposals
    if cfg.model.roi_head.get('mask_head') is not None:  # masks are not compared
        cfg.model.roi_head.mask_head = None
        cfg.model.roi_head.mask_roi_extractor = None
    torch.manual_seed(args.seed)
    model = build_detector(cfg.model)
    with torch.no_grad():
        randomize(model, gen)
    for blk in model.backbone.visual.blocks:  # xformers -> the plain attention branch
        blk.attn.xattn = False
    model.eval()

    mean = torch.tensor([123.675, 116.28, 103.53])
    std = torch.tensor([58.395, 57.12, 57.375])
    rgb = torch.rand((args.images, args.size, args.size, 3), generator=gen) * 255
    rgb = (rgb * 0.5 + torch.linspace(0, 127, args.size)[None, :, None, None]).round()
    img = ((rgb - mean) / std).permute(0, 3, 1, 2).contiguous()
    shape = (args.size, args.size, 3)
    metas = [dict(img_shape=shape, ori_shape=shape, pad_shape=shape,
                  scale_factor=np.ones(4, dtype=np.float32), flip=False, batch_input_shape=shape[:2])
             for _ in range(args.images)]
    out = dict(state_dict={k: v.clone() for k, v in model.state_dict().items()},
               rgb=rgb, inputs=img, class_table=table, names=names, seen=seen,
               config=args.config, size=args.size, proposals_per_img=args.proposals,
               tiny_arch=TINY if args.tiny else None,
               test_cfg=cfg.model.test_cfg.to_dict() if hasattr(cfg.model.test_cfg, 'to_dict')
               else dict(cfg.model.test_cfg))
    with torch.no_grad():
        feats = model.backbone(img)
        fpn = model.neck(feats[:-1])
        proposals = model.rpn_head.simple_test_rpn(fpn, metas)
        rois = bbox2roi(proposals)
        res = model.roi_head._bbox_forward(fpn, rois, vlm_feat=feats[-1])
        dets, labels = model.roi_head.simple_test_bboxes(fpn, metas, proposals,
                                                         model.roi_head.test_cfg,
                                                         vlm_feat=feats[-1], rescale=False)
    out.update(pyramid=[f.clone() for f in feats[:-1]], dense=feats[-1].clone(),
               fpn=[f.clone() for f in fpn], proposals=[p.clone() for p in proposals],
               roi_scores=res['cls_score'].clone(), roi_deltas=res['bbox_pred'].clone(),
               dets=[d.clone() for d in dets], labels=[lb.clone() for lb in labels])
    torch.save(out, args.out)
    print(f'upstream: {len(out["state_dict"])} tensors, proposals '
          f'{[len(p) for p in proposals]}, detections {[len(d) for d in dets]} -> {args.out}')


if __name__ == '__main__':
    main()
