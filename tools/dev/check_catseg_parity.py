"""Compare declip_mm's CAT-Seg with the official DeCLIP CAT-Seg model, logits and sliding scores.

The official model is KU-CVLAB/CAT-Seg wired with DeCLIP's EVA-CLIP ``encode_dense`` as the
DeCLIP_CATSeg branch of xiaomoguhz/DeCLIP does it (``tools/dev/catseg_official.py`` says how).
It runs in a Python with detectron2 (``--official-python``), imported from the checkouts given
here; nothing of it is copied into declip_mm::

    git clone https://github.com/KU-CVLAB/CAT-Seg /tmp/CAT-Seg
    git clone https://github.com/xiaomoguhz/DeCLIP /tmp/DeCLIP
    python tools/dev/check_catseg_parity.py --catseg-repo /tmp/CAT-Seg \\
        --declip-repo /tmp/DeCLIP --official-python /path/to/detectron2-env/bin/python

Per case (random weights from ``declip_mm.testing.seeded_tensor``, float32, CPU):

1. the official model is built, its parameters seeded, and it is run on a random 384x384 image
   (head logits, ``(1, T, 96, 96)``) and on a random non-square image through its
   ``inference_sliding_window`` (640x640 resize, 384 windows with stride 256, global view,
   sigmoid scores back at the image size); its state dict is saved as a detectron2 checkpoint;
2. that checkpoint is converted (``declip_mm.checkpoint.layouts.catseg_official``) and loaded
   strictly into ``DeCLIPCATSeg`` built from our B/16 config (with the case's sizes);
3. our ``logits`` and ``predict`` (``test_cfg`` slide) outputs are compared.

Cases: ``tiny`` (EVA tower 64 wide, 9 blocks, head 32 wide; 3 classes, ``pad_len`` 4: one
learnt padding class), ``tiny-topk`` (``pad_len`` 2: the top-k class selection and the -100
fill), ``tiny-pad256`` (the released ``pad_len`` 256: 253 padding classes), ``b16`` (the real
EVA02-CLIP-B/16 sizes and head, ``pad_len`` 256). ``--write-fixture`` stores the ``tiny`` case's
official outputs (no weights: they are rebuilt from names and shapes) for
``tests/checkpoint/test_catseg_official.py``.

Exits 1 if any difference exceeds ``--tol``.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TOOLS)

import torch  # noqa: E402

TINY_CLIP = dict(embed_dim=32,
                 vision_cfg=dict(image_size=224, layers=9, width=64, head_width=16, patch_size=16,
                                 mlp_ratio=2.6667, rope=True, subln=True, naiveswiglu=True,
                                 pt_hw_seq_len=16),
                 text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=2))
TINY_HEAD = dict(hidden_dim=32, num_heads=4, num_layers=2, window_size=12,
                 appearance_guidance_dim=32, text_guidance_dim=32, decoder_dims=(32, 16),
                 guidance_dims=(32, 16), guidance_proj_dims=(16, 8))
B16_HEAD = dict(hidden_dim=128, num_heads=4, num_layers=2, window_size=12,
                appearance_guidance_dim=128, text_guidance_dim=128, decoder_dims=(64, 32),
                guidance_dims=(256, 128), guidance_proj_dims=(32, 16))
NAMES = ['wall', 'person, people', 'sky']
CASES = {
    'tiny': dict(clip=TINY_CLIP, head=TINY_HEAD, names=NAMES, pad_len=4, slide_size=(150, 200)),
    'tiny-topk': dict(clip=TINY_CLIP, head=TINY_HEAD, names=NAMES, pad_len=2, slide=False,
                      slide_size=(150, 200)),
    'tiny-pad256': dict(clip=TINY_CLIP, head=TINY_HEAD, names=NAMES, slide=False,
                        slide_size=(150, 200)),
    'b16': dict(clip='EVA02-CLIP-B-16', head=B16_HEAD, names=NAMES, slide_size=(300, 400)),
}
CONFIG = 'configs/segmentation/catseg/catseg_declip-eva02-b16_4xb1-80k_coco-stuff171-384x384.py'


# ---------------------------------------------------------------------- ours
def our_model(case: dict, clip_arch: dict):
    """``DeCLIPCATSeg`` from our B/16 config with the case's sizes, random weights."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import declip_mm  # noqa: F401  (registers)
    init_default_scope('mmseg')
    cfg = Config.fromfile(os.path.join(ROOT, CONFIG)).model
    head = case['head']
    cfg.backbone.update(arch=clip_arch, init_cfg=None)
    cfg.text_encoder.update(arch=clip_arch, init_cfg=None)
    cfg.neck.update(embed_dim=clip_arch['embed_dim'], hidden_dim=head['hidden_dim'],
                    num_layers=head['num_layers'], num_heads=head['num_heads'],
                    window_size=head['window_size'],
                    appearance_guidance_dim=head['appearance_guidance_dim'],
                    text_guidance_dim=head['text_guidance_dim'],
                    pad_len=case.get('pad_len') or 256)
    cfg.decode_head.update(in_channels=head['hidden_dim'], channels=head['decoder_dims'][-1],
                           clip_width=clip_arch['vision_cfg']['width'],
                           decoder_dims=head['decoder_dims'], guidance_dims=head['guidance_dims'],
                           guidance_proj_dims=head['guidance_proj_dims'])
    # CAT-Seg's JSON lists separate alternative names with ', ' (its text side encodes the
    # first); declip_mm's vocabularies use '; ' (as the catseg_*.txt files converted from them)
    names = [n.replace(', ', '; ') for n in case['names']]
    cfg.update(train_class_names=names, test_class_names=names, first_synonym_only=True)
    return MODELS.build(cfg).eval()


def load_converted(model, official_pth: str, folder: str, expected) -> str:
    """Convert the official checkpoint, save it as mmengine does, load it strictly."""
    from mmengine.runner import load_checkpoint

    from declip_mm.checkpoint.layouts.catseg_official import convert
    sd = torch.load(official_pth, map_location='cpu', weights_only=True)['model']
    path = os.path.join(folder, 'converted.pth')
    torch.save(dict(state_dict=convert(sd, expected), meta=dict()), path)
    load_checkpoint(model, path, map_location='cpu', strict=True, logger='silent')
    return path


@torch.no_grad()
def our_outputs(model, image384: torch.Tensor, image_slide):
    from mmseg.structures import SegDataSample
    pre = model.data_preprocessor
    rgb_mean, rgb_std = pre.mean, pre.std  # (3, 1, 1), RGB order after bgr_to_rgb

    def norm(img):
        return ((img - rgb_mean) / rgb_std)[None]

    out = dict(logits384=model.logits(norm(image384), model.test_names))
    if image_slide is not None:
        shape = tuple(image_slide.shape[-2:])
        sample = SegDataSample(metainfo=dict(ori_shape=shape, img_shape=shape, pad_shape=shape))
        out['slide'] = model.predict(norm(image_slide), [sample])[0].seg_logits.data
    return out


# ---------------------------------------------------------------------- driver
def run_case(name: str, args) -> list:
    from declip_mm.models.backbones.archs import resolve_arch
    case = dict(CASES[name], seed=args.seed, threads=args.threads,
                catseg_repo=os.path.abspath(args.catseg_repo),
                declip_repo=os.path.abspath(args.declip_repo))
    clip_arch = resolve_arch(case['clip'])
    case['clip'] = clip_arch
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        case_file, out_file = os.path.join(folder, 'case.json'), os.path.join(folder, 'out.pt')
        with open(case_file, 'w') as f:
            json.dump(case, f)
        t0 = time.perf_counter()
        subprocess.run([args.official_python, os.path.abspath(__file__), '--official-stage',
                        case_file, out_file], check=True)
        t_official = time.perf_counter() - t0
        ref = torch.load(out_file, map_location='cpu', weights_only=True)
        model = our_model(case, clip_arch)
        expected = None if name.startswith('tiny') else 'EVA02-CLIP-B-16'
        load_converted(model, os.path.join(folder, 'official_catseg.pth'), folder, expected)
        t0 = time.perf_counter()
        ours = our_outputs(model, ref['image384'], ref.get('image_slide'))
        t_ours = time.perf_counter() - t0
        for key, what in (('logits384', 'head logits, 384x384 input'),
                          ('slide', f'sliding-window scores, {case["slide_size"]} image')):
            if key not in ref:
                continue
            a, b = ours[key], ref[key]
            d = (a - b).abs().max().item() if a.shape == b.shape else float('inf')
            rows.append((f'{name}: {what} {tuple(b.shape)} (|ref| max {b.abs().max():.3g}, '
                         f'std {b.std():.3g})', d))
        if args.write_fixture and name == 'tiny':
            write_fixture(args.write_fixture, case, ref)
        print(f'[{name}] official stage {t_official:.1f}s (build + run), ours {t_ours:.1f}s (run)')
    return rows


def write_fixture(path: str, case: dict, ref: dict) -> None:
    """Official outputs of the tiny case (every 2nd pixel / every 3rd for the slide scores),
    its parameter names and shapes, buffer names: no weights, no upstream code."""
    sd_keys = sorted(ref['shapes'])
    fixture = dict(case={k: case[k] for k in ('clip', 'head', 'names', 'seed', 'slide_size',
                                               'pad_len')},
                   shapes=ref['shapes'], buffers=ref['buffers'],
                   logits384=ref['logits384'][..., ::2, ::2].clone(),
                   slide=ref['slide'][:, ::3, ::3].clone())
    assert sd_keys
    torch.save(fixture, path)
    print(f'wrote {path} ({os.path.getsize(path) / 1024:.0f} KiB)')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--catseg-repo', required=True, help='KU-CVLAB/CAT-Seg checkout')
    parser.add_argument('--declip-repo', required=True, help='xiaomoguhz/DeCLIP checkout')
    parser.add_argument('--official-python', default=sys.executable,
                        help='a Python with detectron2 (default: this one)')
    parser.add_argument('--cases', nargs='+', default=['tiny', 'tiny-topk', 'tiny-pad256'],
                        choices=list(CASES))
    parser.add_argument('--tol', type=float, default=1e-4)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--write-fixture', help='write the tiny case fixture here')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = [row for name in args.cases for row in run_case(name, args)]
    width = max(len(r[0]) for r in rows)
    bad = 0
    for label, d in rows:
        ok = d <= args.tol
        bad += not ok
        print(f'{label:<{width}}  max abs diff {d:.2e}  {"ok" if ok else "FAIL"}')
    print(f'{len(rows) - bad} passed, {bad} failed (tolerance {args.tol:g})')
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == '--official-stage':
        from catseg_official import official_stage  # detectron2 side: no declip_mm import
        with open(sys.argv[2]) as f:
            official_stage(json.load(f), sys.argv[3], ROOT)
    else:
        from declip_mm.apis.cli import run_main
        run_main(main)
