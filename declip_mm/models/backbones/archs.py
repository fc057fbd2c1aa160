"""Named DeCLIP architectures, in the form of the EVA-CLIP / open_clip model-config JSON.

``arch`` of :class:`DeCLIPViT` is one of these names or a dict of the same form
(``embed_dim`` plus ``vision_cfg``), so tests and demos can use tiny models. A ``vision_cfg``
with any of ``rope`` / ``subln`` / ``naiveswiglu`` (or ``eva_model_name``) is an EVA02 tower;
anything else is an OpenAI-style ViT as open_clip builds it. For OpenAI-style names, any
open_clip model config name (e.g. ``ViT-B-16-quickgelu``) works too.
"""
import copy
from typing import Any, Dict, Union

from ...utils.errors import ConfigError

_EVA_B16_VISION = dict(image_size=224, layers=12, width=768, head_width=64, patch_size=16,
                       mlp_ratio=2.6667, rope=True, subln=True, naiveswiglu=True,
                       pt_hw_seq_len=16, qkv_bias=True)
_EVA_L14_VISION = dict(image_size=224, layers=24, width=1024, head_width=64, patch_size=14,
                       mlp_ratio=2.6667, rope=True, subln=True, naiveswiglu=True,
                       pt_hw_seq_len=16, qkv_bias=True)
_TEXT_B = dict(context_length=77, vocab_size=49408, width=512, heads=8, layers=12)
_TEXT_L = dict(context_length=77, vocab_size=49408, width=768, heads=12, layers=12)
_OV_SHAPES_TEXT = dict(context_length=24, vocab_size=49408, width=96, heads=3, layers=3)

ARCHS: Dict[str, Dict[str, Any]] = {
    'EVA02-CLIP-B-16': dict(embed_dim=512, vision_cfg=_EVA_B16_VISION, text_cfg=_TEXT_B),
    'EVA02-CLIP-L-14': dict(embed_dim=768, vision_cfg=_EVA_L14_VISION, text_cfg=_TEXT_L),
    'EVA02-CLIP-L-14-336': dict(embed_dim=768, vision_cfg=dict(_EVA_L14_VISION, image_size=336),
                                text_cfg=_TEXT_L),
    'ViT-B-16': dict(embed_dim=512, quick_gelu=True,
                     vision_cfg=dict(image_size=224, layers=12, width=768, patch_size=16),
                     text_cfg=_TEXT_B),
    'ViT-L-14': dict(embed_dim=768, quick_gelu=True,
                     vision_cfg=dict(image_size=224, layers=24, width=1024, patch_size=14),
                     text_cfg=_TEXT_L),
    'ViT-L-14-336': dict(embed_dim=768, quick_gelu=True,
                         vision_cfg=dict(image_size=336, layers=24, width=1024, patch_size=14),
                         text_cfg=_TEXT_L),
    'OVShapes-Tiny': dict(embed_dim=96, text_cfg=_OV_SHAPES_TEXT,
                          vision_cfg=dict(image_size=64, layers=4, width=96, head_width=32,
                                          patch_size=8)),
}
"""OpenAI-style names carry ``quick_gelu=True`` because the OpenAI weights were trained with it.
``OVShapes-Tiny`` is the tiny CLIP of the OV-Shapes proving ground
(``declip_mm/assets/ovshapes/tiny_clip.pt``, ``datasets.ov_shapes.arch.OV_SHAPES_CLIP``)."""

EVA_KEYS = ('rope', 'subln', 'naiveswiglu', 'eva_model_name')


def resolve_arch(arch: Union[str, Dict[str, Any]]) -> Dict[str, Any]:
    """Return a config dict (deep copy) for a name or a dict; raise ``ValueError`` if unknown."""
    if isinstance(arch, dict):
        cfg = copy.deepcopy(dict(arch))
    elif arch in ARCHS:
        cfg = copy.deepcopy(ARCHS[arch])
    else:
        cfg = _open_clip_config(arch)
    if 'vision_cfg' not in cfg or 'embed_dim' not in cfg:
        raise ConfigError(f'arch {arch!r}: a config needs "embed_dim" and "vision_cfg"')
    return cfg


def is_eva(cfg: Dict[str, Any]) -> bool:
    """Whether a config describes an EVA02 tower (RoPE / sub-LN / SwiGLU)."""
    vision = cfg['vision_cfg']
    return bool(cfg.get('family') == 'eva' or any(vision.get(k) for k in EVA_KEYS))


def _open_clip_config(name: str) -> Dict[str, Any]:
    import open_clip
    cfg = open_clip.get_model_config(name)
    if cfg is None or 'timm_model_name' in cfg.get('vision_cfg', {}):
        known = ', '.join(ARCHS)
        raise ConfigError(f'unknown arch {name!r}: use one of {known}, an OpenAI-style open_clip '
                         'model name, or a dict with "embed_dim" and "vision_cfg"')
    return copy.deepcopy(cfg)
