"""The tiny CLIP of the OV-Shapes proving ground and the assets shipped with it.

``OV_SHAPES_CLIP`` is an OpenAI-style open_clip config (``VisionTransformer`` + text
transformer), the dict form ``DeCLIPViT(arch=...)`` and ``DeCLIPTextEncoder(arch=...)`` accept,
so the shipped checkpoint loads through ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
"""
import hashlib
import os

from ...models.backbones.archs import resolve_arch
from ...utils.image_norm import CLIP_MEAN, CLIP_STD

OV_SHAPES_ARCH = 'OVShapes-Tiny'
"""Its registered arch name (``resolve_arch``, ``--arch`` of the tools)."""

OV_SHAPES_CLIP = resolve_arch(OV_SHAPES_ARCH)
"""Image tower: 4 blocks of width 96 (3 heads of 32), patch 8, 8 x 8 grid at 64 px."""

OV_SHAPES_TEMPLATES = ('a {}',)
"""Prompt template: single-object captions read ``'a red ring'``."""

OV_SHAPES_MEAN = tuple(round(v, 2) for v in CLIP_MEAN)  # (122.77, 116.75, 104.09)
OV_SHAPES_STD = tuple(round(v, 2) for v in CLIP_STD)  # (68.5, 66.63, 70.32)
"""Pixel normalisation (0-255 RGB): OpenAI CLIP's (``utils.image_norm``) rounded to 2 decimals,
the values the shipped tiny CLIP was pretrained with."""

OV_SHAPES_VFM_OVERRIDES = dict(embed_dim=96, depth=4, num_heads=3, img_size=64)
"""The stand-in VFM: DINO-layout ViT (``DeCLIPDINOTeacher``, arch ``'vitb8'``) narrowed to width
96, 4 blocks, 3 heads; patch 8 gives the student's 8 x 8 grid at 64 px."""

ASSET_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'assets', 'ovshapes')
TINY_CLIP_CHECKPOINT = os.path.join(ASSET_DIR, 'tiny_clip.pt')
"""Shipped checkpoint of the tiny CLIP (``tools/ovshapes/pretrain_clip.py``)."""
TINY_CLIP128_CHECKPOINT = os.path.join(ASSET_DIR, 'tiny_clip128.pt')
"""The tiny CLIP of the 128 px world: ``tiny_clip.pt`` fine-tuned on 128 px scenes
(``tools/ovshapes/pretrain_clip.py --world 128``; docs/ovshapes.md, "The 128 px world")."""
TINY_CLIP_CHECKPOINTS = {'64': TINY_CLIP_CHECKPOINT, '128': TINY_CLIP128_CHECKPOINT}
"""The tiny CLIP each world's recipes start from, by world name."""
TINY_VFM_CHECKPOINT = os.path.join(ASSET_DIR, 'tiny_vfm.pt')
"""Shipped stand-in VFM, trained by masked image modelling (``tools/ovshapes/pretrain_vfm.py``)."""
TINY_VFM_DINO_CHECKPOINT = os.path.join(ASSET_DIR, 'tiny_vfm_dino.pt')
"""Shipped stand-in VFM, trained by DINO-style self-distillation
(``tools/ovshapes/pretrain_vfm.py --method dino``)."""


def tiny_clip_checkpoint(world: str = '64') -> str:
    """The shipped tiny CLIP of ``world`` (ValueError naming the worlds that have one)."""
    if str(world) not in TINY_CLIP_CHECKPOINTS:
        raise ValueError(f'OV-Shapes: no tiny CLIP for world {world!r}; worlds: '
                         f'{", ".join(repr(k) for k in TINY_CLIP_CHECKPOINTS)}')
    return TINY_CLIP_CHECKPOINTS[str(world)]


def file_sha256(path: str) -> str:
    """Hex sha256 of a file: how an exported tiny DeCLIP names its teacher
    (``meta.teacher_sha256``)."""
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()
