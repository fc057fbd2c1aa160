"""open_clip / declip_mm layout: where the CLIP towers sit inside the checkpoints we read.

open_clip keeps the image tower under ``visual.`` (timm ``Eva`` under ``visual.trunk.`` for
EVA02, ``visual.conv1 ...`` for OpenAI-style ViTs) and the text tower under ``text.``
(``CustomTextCLIP``) or at the top level (``CLIP``). declip_mm's models nest the same towers
under their attribute names; the prefixes below are those names, most specific first.
"""
from typing import Dict, Optional, Sequence

from torch import Tensor

VISUAL_PREFIXES = ('backbone.', 'image_encoder.', 'student.', '')
"""Prefixes of ``visual.*`` in detector / segmentor / region-classifier, open_clip-style and
distiller (the student) checkpoints."""

TEXT_PREFIXES = ('vocabulary.text_encoder.text.', 'classifier.text_encoder.text.',
                 'text_encoder.text.', 'text.')
"""Prefixes of the text tower: ``DeCLIPFViT`` (``vocabulary.text_encoder``), the region
classifier, the segmentors (``text_encoder``), EVA-CLIP / DeCLIP / open_clip ``CustomTextCLIP``."""

OPENAI_TEXT_TOP = ('transformer.', 'token_embedding.', 'positional_embedding', 'ln_final.',
                   'text_projection')
"""Top-level text keys of an OpenAI-style open_clip ``CLIP``."""

NOT_WEIGHTS = ('attn_mask',)
"""Buffers open_clip rebuilds (the causal mask); never loaded or exported."""


def strip_prefix(sd: Dict[str, Tensor], prefix: str) -> Dict[str, Tensor]:
    """The keys under ``prefix``, without it (mmengine's ``Pretrained(prefix=...)``)."""
    if not prefix:
        return dict(sd)
    return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}


def first_prefixed(sd: Dict[str, Tensor], prefixes: Sequence[str], head: str
                   ) -> Optional[Dict[str, Tensor]]:
    """``{head + rest: v}`` for the first prefix under which ``prefix + head`` keys exist."""
    for prefix in prefixes:
        sub = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix + head)}
        if sub:
            return sub
    return None


def text_tower(sd: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """Text-tower keys in open_clip ``TextTransformer`` names (no prefix, no ``attn_mask``)."""
    sub = None
    for prefix in TEXT_PREFIXES:
        sub = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
        if sub:
            break
    if not sub:
        sub = {k: v for k, v in sd.items() if k.startswith(OPENAI_TEXT_TOP)}
    return {k: v for k, v in sub.items() if k not in NOT_WEIGHTS}
