"""OpenAI TorchScript CLIP archives (``ViT-B-16.pt`` as released by OpenAI).

They are read with ``torch.jit.load`` (see :func:`declip_mm.checkpoint.read_checkpoint`); the
module's state dict is already in open_clip's OpenAI-style names (``visual.conv1 ...``, text at
the top level) apart from three scalars that describe the architecture.
"""
from typing import Dict

from torch import Tensor

ARCHITECTURE_SCALARS = ('input_resolution', 'context_length', 'vocab_size')


def openai_jit_to_open_clip(sd: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """TorchScript state dict -> open_clip ``CLIP`` state dict (drops the scalars)."""
    return {k: v for k, v in sd.items() if k not in ARCHITECTURE_SCALARS}
