"""Compare DeCLIPTrainingFreeSegmentor with DeCLIP's own training-free segmentor, number by number.

DeCLIP's ``ZSSS`` branch (mmseg 1.x, as declip_mm) is loaded at run time from a local clone;
nothing of it is copied into declip_mm::

    git clone -b ZSSS https://github.com/xiaomoguhz/DeCLIP /tmp/declip_zsss
    python tools/dev/check_trainingfree_parity.py --zsss-repo /tmp/declip_zsss \\
        --classes voc21=/tmp/declip_zsss/configs/cls_voc21.txt \\
                  coco_object=/tmp/declip_zsss/configs/cls_coco_object.txt \\
                  ade20k=/tmp/declip_zsss/configs/cls_ade20k.txt

What runs, on random weights (float32, CPU) of a tiny EVA02 tower (patch 8, 4 blocks):

* official side: ``declip_segmentor.py`` ``DeCLIPSegmentation`` as it is (its ``__init__`` text
  averaging, ``forward_slide`` with its own crop padding, ``forward_feature``,
  ``postprocess_result`` with the synonym max and ``prob_thd``; ``get_cls_idx`` reads the class
  file), its ``prompts/imagenet_template.py`` templates, the branch's EVA vision tower
  (``src/open_clip/eva_clip/eva_vit_model.py``, ``encode_dense(mode='csa')``), EVA-CLIP text
  tower and tokenizer. The only stand-ins are its model factory (``create_model`` returns the
  two official towers in a 3-line ``encode_text`` / ``encode_dense`` holder, as the official
  ``CustomCLIP`` wires them) and ``pt_load`` (unused: no checkpoint path is given);
* our side: ``DeCLIPTrainingFreeSegmentor`` with ``DeCLIPViT(mode='csa',
  attn_scale='head_dim')`` and ``DeCLIPTextEncoder(templates='imagenet')``, loading the same
  weights from an EVA-CLIP-layout file, the same class file;
* per benchmark (its ``logit_scale`` / ``prob_thd``): text embeddings, the slid cosine logits at
  the input size, the class probabilities and the predicted map at the original size, on
  scikit-image photos through each side's data preprocessor.

The crops (48 px, stride 16) are multiples of 16, so the official padding (to 16, hard-coded)
and ours (to the patch size) are both no-ops, and every crop is square (the official
``forward_feature`` assumes a square token grid). Prints one line per figure; exits 1 if a
difference exceeds ``--tol`` or a predicted pixel differs.
"""
import argparse
import importlib.util
import os
import sys
import tempfile
import types
from typing import List, Tuple

import check_fidelity as fid  # noqa: E402  (tools/dev/: official imports, tiny arch, randomize)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import Tensor, nn  # noqa: E402

# benchmark -> (logit_scale, prob_thd), as configs/segmentation/training_free/ set them
BENCHMARKS = {'voc21': (80.0, 0.4), 'context60': (40.0, 0.15), 'coco_object': (40.0, 0.2),
              'voc20': (40.0, 0.0), 'context59': (40.0, 0.0), 'coco_stuff171': (40.0, 0.0),
              'cityscapes': (40.0, 0.0), 'ade20k': (40.0, 0.0)}
CROP, STRIDE = 48, 16
PHOTOS = (('astronaut', (64, 64), (128, 128)), ('chelsea', (64, 96), (150, 225)),
          ('coffee', (80, 112), (120, 170)))


class OfficialCLIP(nn.Module):
    """What the official ``CustomCLIP`` gives the segmentor: ``encode_text`` and
    ``encode_dense`` (the vision tower's dense tokens, L2-normalised over channels)."""

    def __init__(self, visual: nn.Module, text: nn.Module):
        super().__init__()
        self.visual, self.text = visual, text

    def encode_text(self, tokens: Tensor) -> Tensor:
        return self.text(tokens)

    def encode_dense(self, image: Tensor, normalize: bool = False, keep_shape: bool = False,
                     mode: str = 'csa') -> Tensor:
        out = self.visual.encode_dense(image, keep_shape=keep_shape, mode=mode)
        return nn.functional.normalize(out, dim=1 if keep_shape else -1) if normalize else out


def build_official_clip(arch: dict, mods, seed: int) -> OfficialCLIP:
    """The official EVA vision and text towers on random weights."""
    visual = fid.build_official('eva', arch, mods).eval()
    fid.randomize(visual, seed)
    tr = sys.modules['_official_eva_clip.transformer']
    t = arch['text_cfg']
    text = tr.TextTransformer(context_length=t['context_length'], vocab_size=t['vocab_size'],
                              width=t['width'], heads=t['heads'], layers=t['layers'],
                              output_dim=arch['embed_dim'], act_layer=nn.GELU,
                              norm_layer=tr.LayerNorm, xattn=False).eval()
    fid.randomize(text, seed + 1)
    return OfficialCLIP(visual, text).eval()


def _load_path(name: str, path: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def import_official_segmentor(repo: str, clip: OfficialCLIP) -> types.ModuleType:
    """``declip_segmentor.py`` of the ZSSS clone, its imports served by the official modules
    (``create_model`` returns ``clip``)."""
    tok = importlib.import_module('_official_eva_clip.tokenizer')
    tokenize = lambda texts: tok.tokenize(texts, context_length=77)  # noqa: E731
    factory = types.ModuleType('open_clip.factory')
    factory.create_model = lambda *a, **k: clip
    factory.get_tokenizer = lambda model_name=None: tokenize
    open_clip = types.ModuleType('open_clip')
    open_clip.__path__ = []
    open_clip.factory, open_clip.tokenizer = factory, types.SimpleNamespace(tokenize=tokenize)
    training = types.ModuleType('training')
    training.__path__ = []
    file_utils = types.ModuleType('training.file_utils')
    file_utils.pt_load = lambda *a, **k: (_ for _ in ()).throw(RuntimeError('not used'))
    prompts = types.ModuleType('prompts')
    prompts.__path__ = [os.path.join(repo, 'prompts')]
    stubs = {'open_clip': open_clip, 'open_clip.factory': factory, 'training': training,
             'training.file_utils': file_utils, 'prompts': prompts}
    saved = {name: sys.modules.get(name) for name in stubs}
    sys.modules.update(stubs)
    try:  # the names are bound at import; the real open_clip (ours uses it) comes back after
        _load_path('prompts.imagenet_template',
                   os.path.join(repo, 'prompts', 'imagenet_template.py'))
        return _load_path('_zsss_declip_segmentor', os.path.join(repo, 'declip_segmentor.py'))
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod


def build_ours(arch: dict, weights: str, class_file: str, scale: float, thd: float):
    from mmseg.registry import MODELS
    model = MODELS.build(dict(
        type='DeCLIPTrainingFreeSegmentor',
        backbone=dict(type='DeCLIPViT', arch=arch, mode='csa', attn_scale='head_dim'),
        text_encoder=dict(type='DeCLIPTextEncoder', arch=arch, templates='imagenet'),
        class_names=class_file, logit_scale=scale, prob_thd=thd, slide_crop=CROP,
        slide_stride=STRIDE))
    missing, unexpected = model.load_state_dict(torch.load(weights), strict=False)
    if missing or unexpected:
        raise RuntimeError(f'weights did not load: missing {missing[:4]}, '
                           f'unexpected {unexpected[:4]}')
    return model.eval()


def photo(name: str, size: Tuple[int, int]) -> Tensor:
    """A scikit-image photo at ``size`` as a BGR uint8 ``(3, H, W)`` tensor (mmcv's layout)."""
    from skimage import data
    from skimage.transform import resize
    rgb = (resize(getattr(data, name)(), size, anti_aliasing=True) * 255).astype(np.uint8)
    return torch.from_numpy(np.ascontiguousarray(rgb[..., ::-1])).permute(2, 0, 1)


def run_side(model: nn.Module, img: Tensor, ori: Tuple[int, int]):
    """``(inputs, sample)`` after the model's own data preprocessor, and its prediction."""
    from mmseg.structures import SegDataSample
    sample = SegDataSample()
    sample.set_metainfo(dict(img_shape=tuple(img.shape[-2:]), ori_shape=ori))
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), training=False)
    with torch.no_grad():
        out = model.predict(data['inputs'], data['data_samples'])[0]
    return data['inputs'], out


def compare_benchmark(name: str, class_file: str, official_mod, clip: OfficialCLIP,
                      arch: dict, weights: str) -> List[Tuple[str, float, int]]:
    """Rows ``(figure, max |difference|, differing predicted pixels)`` of one benchmark."""
    scale, thd = BENCHMARKS[name]
    off = official_mod.DeCLIPSegmentation(
        clip_type='tiny', name_path=class_file, checkpoint=None, mode='csa', pretrained='eva',
        device='cpu', prob_thd=thd, logit_scale=scale, slide_stride=STRIDE, slide_crop=CROP)
    ours = build_ours(arch, weights, class_file, scale, thd)
    text, _ = ours.text_embeddings()
    text = nn.functional.normalize(text, dim=-1)
    name = f'{name} ({os.path.basename(class_file)})'
    rows = [(f'{name}: text embeddings ({len(text)} names x 80 templates)',
             (text - off.query_features).abs().max().item(), 0)]
    for photo_name, size, ori in PHOTOS:
        img = photo(photo_name, size)
        x_off, out_off = run_side(off, img, ori)
        x_ours, out_ours = run_side(ours, img, ori)
        with torch.no_grad():
            slid_off = off.forward_slide(x_off, [dict(ori_shape=size)], STRIDE, CROP)
            slid_ours = ours.inference(x_ours, [dict(ori_shape=size)])
        p_off, p_ours = out_off.seg_logits.data, out_ours.seg_logits.data
        pred_off, pred_ours = out_off.pred_sem_seg.data, out_ours.pred_sem_seg.data
        bg = (p_ours.max(0)[0] < thd).float().mean().item() if thd > 0 else 0.0
        tag = f'{name}: {photo_name} {size[0]}x{size[1]} -> {ori[0]}x{ori[1]}'
        rows += [(f'{tag} input (preprocessed)', (x_off - x_ours).abs().max().item(), 0),
                 (f'{tag} slid cosine logits', (slid_off - slid_ours).abs().max().item(), 0),
                 (f'{tag} class probabilities + map ({bg:.0%} below prob_thd)',
                  (p_off - p_ours).abs().max().item(), int((pred_off != pred_ours).sum()))]
    return rows


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--zsss-repo', required=True,
                   help='local clone of xiaomoguhz/DeCLIP, branch ZSSS')
    p.add_argument('--classes', nargs='+', metavar='NAME=PATH',
                   default=['voc21', 'coco_object', 'ade20k'],
                   help=f'benchmarks ({", ".join(BENCHMARKS)}), each with its class file '
                        '(default <zsss-repo>/configs/cls_<NAME>.txt)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--tol', type=float, default=1e-5)
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)
    from mmengine.registry import init_default_scope
    import declip_mm  # noqa: F401  (registers)
    from declip_mm.testing import TINY_EVA
    from declip_mm.utils.errors import ConfigError
    init_default_scope('mmseg')
    repo = os.path.abspath(args.zsss_repo)
    if not os.path.isfile(os.path.join(repo, 'declip_segmentor.py')):
        raise ConfigError(f'{repo} is not a clone of the ZSSS branch of xiaomoguhz/DeCLIP '
                          '(declip_segmentor.py is missing)')
    benches: List[Tuple[str, str]] = []
    for item in args.classes:
        name, _, path = item.partition('=')
        if name not in BENCHMARKS:
            raise ConfigError(f'--classes: unknown benchmark {name!r} ({", ".join(BENCHMARKS)})')
        benches.append((name, path or os.path.join(repo, 'configs', f'cls_{name}.txt')))
    mods = fid.import_official(repo)
    clip = build_official_clip(TINY_EVA, mods, args.seed)
    official_mod = import_official_segmentor(repo, clip)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, 'clip.pt')
        torch.save({f'visual.{k}': v for k, v in clip.visual.state_dict().items()}
                   | {f'text.{k}': v for k, v in clip.text.state_dict().items()}, weights)
        for name, path in benches:
            rows += compare_benchmark(name, path, official_mod, clip, TINY_EVA, weights)
    bad = 0
    for figure, diff, pixels in rows:
        ok = diff <= args.tol and pixels == 0
        bad += not ok
        px = f', {pixels} predicted pixels differ' if 'map' in figure else ''
        print(f'{"ok  " if ok else "FAIL"} {figure}: max |diff| {diff:.2e}{px}')
    print(f'{len(rows) - bad}/{len(rows)} within {args.tol:g}')
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    from declip_mm.apis.cli import run_main
    run_main(main)
