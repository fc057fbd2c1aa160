"""Key table: the official DeCLIP CAT-Seg checkpoint (detectron2) -> declip_mm's ``DeCLIPCATSeg``.

The DeCLIP CAT-Seg release (``CATSeg_DeCLIP_EVA-B_DINOv2-B_csa_0.05_2.0``, DeCLIP_CATSeg branch of
xiaomoguhz/DeCLIP, on KU-CVLAB/CAT-Seg) is a detectron2 checkpoint: ``{'model': state_dict, ...}``
whose keys are the module paths of CAT-Seg's ``CATSeg`` meta-architecture:

* ``sem_seg_head.predictor.clip_model.{visual,text}.*``: the EVA-CLIP model holding the DeCLIP
  weights (EVA-CLIP names; RoPE buffers under ``visual.rope`` and every ``blocks.N.attn.rope``);
  ``...clip_model.logit_scale`` (unused by CAT-Seg);
* ``sem_seg_head.predictor.transformer.*``: CAT-Seg's ``Aggregator`` (cost embedding, guidance
  projections, aggregation layers, upsampling decoder, output conv);
* ``upsample1.*`` / ``upsample2.*``: the transposed convs of the decoder guidance (block 3 / 7).

``convert`` maps them onto ``backbone.*`` / ``text_encoder.text.*`` (through the CLIP layout
converters declip_mm already has), ``neck.*`` (``DeCLIPCATSegAggregator``) and ``decode_head.*``
(``DeCLIPCATSegHead``). Buffers that the modules recompute are dropped: the shifted-window masks
(``...swin_block.block_2.attn_mask``), RoPE tables, ``logit_scale``.

Bad input is one ``CheckpointError`` line naming what was found (``identify``).
"""
import re
from typing import Dict, List, Optional, Tuple, Union

from torch import Tensor

from ...utils.errors import CheckpointError

CLIP_PREFIX = 'sem_seg_head.predictor.clip_model.'
AGG_PREFIX = 'sem_seg_head.predictor.transformer.'

# (official regex relative to AGG_PREFIX or the model root, declip_mm name); first match wins
AGGREGATOR_KEYS: List[Tuple[str, str]] = [
    (r'conv1\.(weight|bias)', r'neck.cost_embed.\1'),
    (r'guidance_projection\.0\.(weight|bias)', r'neck.appearance_proj.0.\1'),
    (r'text_guidance_projection\.0\.(weight|bias)', r'neck.text_proj.0.\1'),
    # spatial aggregation: two guided Swin blocks per layer
    (r'layers\.(\d+)\.swin_block\.block_1\.(.+)', r'neck.layers.\1.spatial.blocks.0.\2'),
    (r'layers\.(\d+)\.swin_block\.block_2\.(.+)', r'neck.layers.\1.spatial.blocks.1.\2'),
    (r'layers\.(\d+)\.swin_block\.guidance_norm\.(weight|bias)',
     r'neck.layers.\1.spatial.guidance_norm.\2'),
    # class aggregation: linear attention across classes
    (r'layers\.(\d+)\.attention\.attention\.([qkv])\.(weight|bias)',
     r'neck.layers.\1.classes.\2.\3'),
    (r'layers\.(\d+)\.attention\.MLP\.([02])\.(weight|bias)', r'neck.layers.\1.classes.mlp.\2.\3'),
    (r'layers\.(\d+)\.attention\.(norm[12])\.(weight|bias)', r'neck.layers.\1.classes.\2.\3'),
    (r'layers\.(\d+)\.attention\.padding_tokens', r'neck.layers.\1.classes.pad_token'),
    (r'layers\.(\d+)\.attention\.padding_guidance', r'neck.layers.\1.classes.pad_guidance'),
    # upsampling decoder: projected guidance, two Up blocks (conv-GN-ReLU x2), output conv
    (r'decoder_guidance_projection\.(\d+)\.0\.(weight|bias)',
     r'decode_head.guidance_proj.\1.conv.\2'),
    (r'decoder([12])\.up\.(weight|bias)', r'decode_head.ups.<\1>.up.\2'),
    (r'decoder([12])\.conv\.double_conv\.0\.weight', r'decode_head.ups.<\1>.convs.0.conv.weight'),
    (r'decoder([12])\.conv\.double_conv\.1\.(weight|bias)', r'decode_head.ups.<\1>.convs.0.gn.\2'),
    (r'decoder([12])\.conv\.double_conv\.3\.weight', r'decode_head.ups.<\1>.convs.1.conv.weight'),
    (r'decoder([12])\.conv\.double_conv\.4\.(weight|bias)', r'decode_head.ups.<\1>.convs.1.gn.\2'),
    (r'head\.(weight|bias)', r'decode_head.conv_seg.\1'),
]
ROOT_KEYS: List[Tuple[str, str]] = [
    (r'upsample1\.(weight|bias)', r'decode_head.guidance_up.0.\1'),
    (r'upsample2\.(weight|bias)', r'decode_head.guidance_up.1.\1'),
]
# recomputed by the modules (or unused): dropped
DROPPED = re.compile(r'(\.attn_mask$)|(^' + re.escape(CLIP_PREFIX) + r'logit_scale$)')

# EVA-CLIP vision width -> the DeCLIP CAT-Seg model of that size (CLIP_PRETRAINED)
SIZES = {768: 'EVA02-CLIP-B-16', 1024: 'EVA02-CLIP-L-14-336'}
WIDTHS = {name: width for width, name in SIZES.items()}


def _rename(key: str, table: List[Tuple[str, str]]) -> Optional[str]:
    """declip_mm name of ``key`` by the first matching row (``<n>``: the 1-based official
    decoder number as our 0-based index), or None."""
    for pattern, repl in table:
        m = re.fullmatch(pattern, key)
        if m:
            return re.sub(r'<([12])>', lambda d: str(int(d.group(1)) - 1), m.expand(repl))
    return None


def vision_width(sd: Dict[str, Tensor]) -> int:
    """Width of the checkpoint's EVA-CLIP image tower (patch-embedding channels)."""
    key = CLIP_PREFIX + 'visual.patch_embed.proj.weight'
    return int(sd[key].shape[0]) if key in sd else 0


def identify(sd: Dict[str, Tensor], expected: Union[str, int, None] = 'EVA02-CLIP-B-16',
             source: str = 'checkpoint') -> None:
    """Raise one ``CheckpointError`` line (naming ``source``, e.g. the file) unless ``sd`` is a
    DeCLIP CAT-Seg (EVA) checkpoint of the ``expected`` CLIP size: a name of ``SIZES``, a vision
    width, or ``None`` (any)."""
    try:
        _identify(sd, expected)
    except CheckpointError as err:
        raise CheckpointError(f'{source}: {err}') from None


def _identify(sd: Dict[str, Tensor], expected: Union[str, int, None]) -> None:
    keys = list(sd)
    if not any(k.startswith(AGG_PREFIX) for k in keys):
        if any(k.startswith(('visual.blocks.', 'visual.trunk.', 'blocks.', 'text.')) for k in keys):
            found = 'a bare EVA-CLIP / DeCLIP CLIP checkpoint (visual.* / text.* keys)'
        elif any(k.startswith(('backbone.', 'roi_heads.', 'proposal_generator.',
                               'sem_seg_head.')) for k in keys):
            heads = sorted({k.split('.')[0] for k in keys})
            found = f'a detectron2 checkpoint of another model (top-level modules: {heads})'
        else:
            found = f'{len(keys)} keys such as {keys[:3]}'
        raise CheckpointError(f'not a DeCLIP CAT-Seg checkpoint (no {AGG_PREFIX}* keys): '
                              f'found {found}')
    if not any(k.startswith(CLIP_PREFIX + 'visual.blocks.') for k in keys):
        found = ('an OpenAI-CLIP CAT-Seg (visual.transformer.resblocks)'
                 if any(k.startswith(CLIP_PREFIX + 'visual.transformer.') for k in keys)
                 else 'a CAT-Seg checkpoint without an EVA-CLIP image tower')
        raise CheckpointError(f'not a DeCLIP (EVA-CLIP) CAT-Seg checkpoint: found {found}')
    if expected is None:
        return
    width = vision_width(sd)
    want = expected if isinstance(expected, int) else WIDTHS.get(expected)
    if want is None:
        raise CheckpointError(f'unknown CAT-Seg CLIP size {expected!r} (one of {list(WIDTHS)})')
    if width != want:
        found = SIZES.get(width, 'an EVA-CLIP tower')
        raise CheckpointError(f'CAT-Seg checkpoint of another backbone size: found {found} '
                              f'(vision width {width}), expected {expected} (width {want})')


def convert(sd: Dict[str, Tensor], expected: Union[str, int, None] = 'EVA02-CLIP-B-16',
            source: str = 'checkpoint') -> Dict[str, Tensor]:
    """Official DeCLIP CAT-Seg state dict -> ``DeCLIPCATSeg`` state dict.

    Args:
        sd: the detectron2 ``model`` dict (unwrapped).
        expected: the CLIP size the target config uses (see ``identify``).
        source: what ``sd`` came from (the file), named in errors.
    """
    from ...models.segmentors.clip_weights import clip_to_segmentor
    identify(sd, expected, source)
    clip, out, unknown = {}, {}, []
    for key, value in sd.items():
        if DROPPED.search(key):
            continue
        if key.startswith(CLIP_PREFIX):
            clip[key[len(CLIP_PREFIX):]] = value
            continue
        table, rel = ((AGGREGATOR_KEYS, key[len(AGG_PREFIX):]) if key.startswith(AGG_PREFIX)
                      else (ROOT_KEYS, key))
        new = _rename(rel, table)
        if new is None:
            unknown.append(key)
        else:
            out[new] = value
    if unknown:
        raise CheckpointError(f'{source}: {len(unknown)} CAT-Seg keys have no declip_mm '
                              f'counterpart (another CAT-Seg variant?): {unknown[:5]}')
    out.update(clip_to_segmentor(clip))
    return out
