"""Official side of ``check_catseg_parity.py``: KU-CVLAB/CAT-Seg wired to DeCLIP's EVA-CLIP.

Runs in a Python that has detectron2 (a side environment); imports nothing of declip_mm except
``declip_mm/testing.py``, loaded by file path for ``seeded_tensor``. Upstream code is imported at
run time from the checkouts given on the command line; nothing of it is copied.

How the model is put together (the DeCLIP_CATSeg branch of xiaomoguhz/DeCLIP, read as facts):

* CAT-Seg's own ``CATSeg`` / ``CATSegHead`` / ``CATSegPredictor`` / ``Aggregator`` are built by
  detectron2's ``build_model`` from CAT-Seg's ``configs/vitb_384.yaml`` with the branch's values
  (``CLIP_PRETRAINED`` of the B/16 family: 384 input, guidance blocks 3 and 7, prompt
  'A photo of a {} in the scene', test-time ``POOLING_SIZES [1, 1]`` as ``eval.sh``).
* The CLIP is DeCLIP's EVA-CLIP ``CustomCLIP`` (``src/open_clip/eva_clip/model.py``), handed to
  the predictor in place of ``clip.load`` (no download; ``xattn``/fused LN off). Where the branch
  changed CAT-Seg for EVA, ``BranchWiredCLIP`` gives upstream's call sites the branch's values:
  ``encode_image(x, dense=True)`` returns ``encode_dense(x, normalize=True, keep_shape=False,
  mode='csa')`` behind a placeholder CLS row (upstream drops row 0, the branch has no CLS row);
  the guidance hooks on ``visual.transformer.resblocks[l]`` receive ``visual.blocks[l]``'s output
  in the sequence-first layout upstream rearranges; ``encode_text`` is ``CustomCLIP.encode_text``
  and the tokenizer DeCLIP's EVA-CLIP one. Parameter names stay the branch's
  (``sem_seg_head.predictor.clip_model.visual.blocks...``).
* Tiny towers: upstream hard-codes the guidance up-convolutions for width 768 (``upsample1/2``,
  768 -> 256 / 128); for narrower towers they are rebuilt with the same kernel / stride for the
  tower's width and ``DECODER_GUIDANCE_DIMS``. ``tensor.cuda()`` calls in the predictor are
  no-ops on machines without CUDA.
"""
import contextlib
import importlib
import importlib.util
import io
import json
import os
import sys
import types
from typing import Dict, List

import torch
from torch import Tensor, nn


def _package(name: str, path: str) -> None:
    pkg = types.ModuleType(name)
    pkg.__path__ = [path]
    sys.modules[name] = pkg


def load_upstream(catseg_repo: str, declip_repo: str) -> Dict[str, types.ModuleType]:
    """Import CAT-Seg (``cat_seg``, registers ``CATSeg``) and DeCLIP's EVA-CLIP modules."""
    for path, probe in ((catseg_repo, 'cat_seg/modeling/transformer/model.py'),
                        (declip_repo, 'src/open_clip/eva_clip/model.py')):
        if not os.path.isfile(os.path.join(path, probe)):
            raise SystemExit(f'{path}: {probe} is missing (wrong checkout?)')
    sys.path.insert(0, os.path.abspath(catseg_repo))
    eva_dir = os.path.join(declip_repo, 'src', 'open_clip', 'eva_clip')
    _package('_official_open_clip', os.path.dirname(eva_dir))
    _package('_official_eva_clip', eva_dir)
    with contextlib.redirect_stdout(io.StringIO()):  # "Please pip install apex / xformers"
        # eva_clip/modified_resnet.py imports its package as ``open_clip.eva_clip``
        sys.modules['open_clip.eva_clip'] = sys.modules['_official_eva_clip']
        utils = importlib.import_module('_official_eva_clip.utils')
        sys.modules['open_clip.eva_clip.utils'] = utils
        mods = dict(cat_seg=importlib.import_module('cat_seg'),
                    clip=importlib.import_module('cat_seg.third_party.clip'),
                    eva_model=importlib.import_module('_official_eva_clip.model'),
                    tokenizer=importlib.import_module('_official_eva_clip.tokenizer'))
    return mods


def load_testing(repo_root: str) -> types.ModuleType:
    """``declip_mm/testing.py`` by path (the package ``__init__`` needs mmseg)."""
    path = os.path.join(repo_root, 'declip_mm', 'testing.py')
    spec = importlib.util.spec_from_file_location('_declip_mm_testing', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class BranchWiredCLIP(nn.Module):
    """DeCLIP's ``CustomCLIP`` behind the interface upstream CAT-Seg calls (see module doc)."""

    def __init__(self, custom: nn.Module, tokenize):
        super().__init__()
        self.visual, self.text, self.logit_scale = custom.visual, custom.text, custom.logit_scale
        self._custom = [custom]  # a list: not registered, keeps parameter names the branch's
        self.tokenize = tokenize
        relays = [nn.Identity() for _ in self.visual.blocks]
        self.visual.transformer = types.SimpleNamespace(resblocks=relays)
        for block, relay in zip(self.visual.blocks, relays):
            block.register_forward_hook(self._relay_hook(relay))

    @staticmethod
    def _relay_hook(relay: nn.Module):
        def hook(module, inputs, output) -> None:  # returns None: the block output is kept
            relay(output.transpose(0, 1))
        return hook

    def encode_image(self, image: Tensor, dense: bool = True) -> Tensor:
        feats = self._custom[0].encode_dense(image, normalize=True, keep_shape=False, mode='csa')
        return torch.cat([torch.zeros_like(feats[:, :1]), feats], dim=1)

    def encode_text(self, tokens: Tensor, prompt=None) -> Tensor:
        return self._custom[0].encode_text(tokens)


@contextlib.contextmanager
def cpu_cuda_calls():
    """``tensor.cuda()`` returns the tensor when no GPU is present (the predictor calls it)."""
    if torch.cuda.is_available():
        yield
        return
    original = torch.Tensor.cuda
    torch.Tensor.cuda = lambda self, *a, **k: self
    try:
        yield
    finally:
        torch.Tensor.cuda = original


def build_official(mods, case: dict, folder: str) -> nn.Module:
    """The official CAT-Seg model for ``case`` (see ``check_catseg_parity.CASES``)."""
    from detectron2.config import get_cfg
    from detectron2.modeling import build_model
    from detectron2.projects.deeplab import add_deeplab_config
    clip_cfg, head = case['clip'], case['head']
    eva = mods['eva_model']
    vision = dict(clip_cfg['vision_cfg'], eva_model_name='eva-clip', xattn=False, fusedLN=False,
                  intp_freq=True, qkv_bias=True, drop_path_rate=0.0)
    vision = {k: v for k, v in vision.items() if k in eva.CLIPVisionCfg.__dataclass_fields__}
    text = dict(clip_cfg['text_cfg'], xattn=False, fusedLN=False)
    text = {k: v for k, v in text.items() if k in eva.CLIPTextCfg.__dataclass_fields__}
    with contextlib.redirect_stdout(io.StringIO()):
        custom = eva.CustomCLIP(clip_cfg['embed_dim'], vision, text)
    wired = BranchWiredCLIP(custom, mods['tokenizer'].tokenize)
    names = os.path.join(folder, 'class_names.json')
    with open(names, 'w') as f:
        json.dump(case['names'], f)
    cfg = get_cfg()
    add_deeplab_config(cfg)
    mods['cat_seg'].add_cat_seg_config(cfg)
    cfg.merge_from_file(os.path.join(case['catseg_repo'], 'configs', 'vitb_384.yaml'))
    s = cfg.MODEL.SEM_SEG_HEAD
    s.TRAIN_CLASS_JSON = s.TEST_CLASS_JSON = names
    s.CLIP_PRETRAINED = 'ViT-B/16'  # upstream's B/16 family: 384 input, blocks 3 and 7
    s.TEXT_GUIDANCE_DIM = s.APPEARANCE_GUIDANCE_DIM = clip_cfg['embed_dim']
    s.TEXT_GUIDANCE_PROJ_DIM = head['text_guidance_dim']
    s.APPEARANCE_GUIDANCE_PROJ_DIM = head['appearance_guidance_dim']
    s.DECODER_DIMS = list(head['decoder_dims'])
    s.DECODER_GUIDANCE_DIMS = list(head['guidance_dims'])
    s.DECODER_GUIDANCE_PROJ_DIMS = list(head['guidance_proj_dims'])
    s.NUM_LAYERS, s.NUM_HEADS = head['num_layers'], head['num_heads']
    s.HIDDEN_DIMS, s.WINDOW_SIZES = head['hidden_dim'], head['window_size']
    s.POOLING_SIZES = [1, 1]  # eval.sh
    cfg.MODEL.PROMPT_ENSEMBLE_TYPE = 'single'
    cfg.MODEL.CLIP_PIXEL_MEAN = [122.7709383, 116.7460125, 104.09373615]  # cat_seg/config.py
    cfg.MODEL.CLIP_PIXEL_STD = [68.5005327, 66.6321579, 70.3231630]
    cfg.MODEL.DEVICE = 'cpu'
    original_load = mods['clip'].load
    mods['clip'].load = lambda *a, **k: (wired, None)
    try:
        with cpu_cuda_calls(), contextlib.redirect_stdout(io.StringIO()):
            model = build_model(cfg)
    finally:
        mods['clip'].load = original_load
    width = clip_cfg['vision_cfg']['width']
    if model.upsample1.in_channels != width or \
            model.upsample1.out_channels != head['guidance_dims'][0]:
        model.upsample1 = nn.ConvTranspose2d(width, head['guidance_dims'][0], 2, stride=2)
        model.upsample2 = nn.ConvTranspose2d(width, head['guidance_dims'][1], 4, stride=4)
    predictor = model.sem_seg_head.predictor
    predictor.tokenizer = wired.tokenize  # the branch tokenises with DeCLIP's EVA-CLIP tokenizer
    if case.get('pad_len') is not None:  # Aggregator(pad_len=...) (the predictor keeps 256)
        predictor.transformer.pad_len = case['pad_len']
        for layer in predictor.transformer.layers:
            layer.attention.pad_len = case['pad_len']
    return model.eval()


def seed_weights(model: nn.Module, testing: types.ModuleType, seed: int) -> Dict[str, List[int]]:
    """Fill every parameter with ``seeded_tensor(name)``; returns the parameter shapes."""
    shapes = {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(testing.seeded_tensor(name, p.shape, seed))
            shapes[name] = list(p.shape)
    return shapes


@torch.no_grad()
def run_official(model: nn.Module, image: Tensor, slide: bool) -> Tensor:
    """Logits of the head (``slide=False``, ``(1, T, 4h, 4w)``) or the sliding-window scores at
    the image size (``(T, H, W)``) for one raw RGB image ``(3, H, W)`` in 0..255."""
    captured = []
    hook = model.sem_seg_head.register_forward_hook(lambda m, i, o: captured.append(o))
    model.sliding_window = slide
    model.sem_seg_head.predictor.cache = None
    try:
        with cpu_cuda_calls():
            out = model([dict(image=image, height=image.shape[1], width=image.shape[2])])
    finally:
        hook.remove()
    return out[0]['sem_seg'] if slide else captured[0]


def official_stage(case: dict, out_path: str, repo_root: str) -> None:
    """Build, seed and run the official model; save the detectron2 checkpoint and outputs."""
    torch.set_num_threads(case.get('threads', 1))
    mods = load_upstream(case['catseg_repo'], case['declip_repo'])
    testing = load_testing(repo_root)
    folder = os.path.dirname(os.path.abspath(out_path))
    model = build_official(mods, case, folder)
    shapes = seed_weights(model, testing, case['seed'])
    img384 = testing.seeded_image(case['seed'] + 1, (384, 384))
    img_slide = testing.seeded_image(case['seed'] + 2, case['slide_size'])
    result = dict(shapes=shapes, image384=img384, logits384=run_official(model, img384, False))
    if case.get('slide', True):
        result.update(image_slide=img_slide, slide=run_official(model, img_slide, True))
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    result['buffers'] = {k: list(v.shape) for k, v in sd.items() if k not in shapes}
    torch.save(dict(model=sd, iteration=0), os.path.join(folder, 'official_catseg.pth'))
    torch.save(result, out_path)
