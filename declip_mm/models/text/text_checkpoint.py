"""Load CLIP text-tower weights from EVA-CLIP / DeCLIP / open_clip / declip_mm checkpoints."""
from typing import Dict

from torch import Tensor, nn

from ...utils.errors import CheckpointError
from ..backbones.checkpoint_io import _summary, read_checkpoint

_TEXT_TOP = ('transformer.', 'token_embedding.', 'positional_embedding', 'ln_final.',
             'text_projection')


def text_state_dict(sd: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """Text-tower keys in open_clip ``TextTransformer`` names (no prefix)."""
    for prefix in ('text_encoder.text.', 'text.'):
        sub = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
        if sub:
            return sub
    return {k: v for k, v in sd.items() if k.startswith(_TEXT_TOP)}  # OpenAI-style CLIP


def load_text_checkpoint(text: nn.Module, path: str) -> None:
    """Strictly load the text tower; one clear error listing missing / unexpected keys."""
    sd = text_state_dict(read_checkpoint(path))
    sd = {k: v for k, v in sd.items() if k != 'attn_mask'}
    own = text.state_dict()
    missing, unexpected = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
    if not sd or missing or unexpected:
        raise CheckpointError(f'{path} does not fit the text tower: '
                              f'{_summary("missing", missing)}; {_summary("unexpected", unexpected)}')
    text.load_state_dict(sd, strict=True)
