"""CAT-Seg's text tower: the DeCLIP text encoder with its attention in-projections trainable.

CAT-Seg (and the DeCLIP CAT-Seg branch) fine-tunes, in the text transformer, only the fused
q/k/v in-projection weights of every residual block (``attn.in_proj_weight``), and encodes the
class prompts with gradients at every training step. ``DeCLIPTextEncoder`` keeps its tower
frozen and encodes under ``no_grad``; this subclass re-enables the chosen parameters and adds a
differentiable ``forward``. In eval mode the embeddings of a vocabulary are cached until the
next ``train()`` (the weights do not change while evaluating).
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from ..freezing import lock
from ..text.text_encoder import DeCLIPTextEncoder

TEXT_IN_PROJ = ('transformer.resblocks.*.attn.in_proj_weight',)


@MODELS.register_module()
class DeCLIPCATSegTextEncoder(DeCLIPTextEncoder):
    """Text tower for CAT-Seg.

    Args:
        arch: as for ``DeCLIPTextEncoder`` (same as the paired ``DeCLIPViT``).
        templates: ``'scene'`` (CAT-Seg's 'A photo of a {} in the scene'), ``'imagenet'`` ... or
            a list; each template is one channel of the cost volume.
        trainable: fnmatch patterns (names relative to the open_clip text tower) left trainable.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)`` (``text.*`` keys).
    """

    def __init__(self, arch: Union[str, dict] = 'EVA02-CLIP-B-16',
                 templates: Union[str, Sequence[str]] = 'scene',
                 trainable: Sequence[str] = TEXT_IN_PROJ,
                 init_cfg: Optional[dict] = None):
        super().__init__(arch=arch, templates=templates, init_cfg=init_cfg)
        self.trainable = list(trainable)
        lock(self.text, [n for n, _ in self.text.named_parameters()], self.trainable)
        self._eval_cache: Dict[Tuple[str, ...], Tensor] = {}

    @property
    def num_templates(self) -> int:
        return len(self.templates)

    def train(self, mode: bool = True) -> 'DeCLIPCATSegTextEncoder':
        super().train(mode)
        if mode:
            self._eval_cache.clear()
        return self

    def init_weights(self) -> None:
        super().init_weights()
        self._eval_cache.clear()

    def forward(self, names: Sequence[str]) -> Tensor:
        """Normalised prompt embeddings ``(T, P, D)`` of ``names`` (P templates), with gradients
        in training mode."""
        key = tuple(names)
        if not self.training and key in self._eval_cache:
            return self._eval_cache[key]
        device = self.text.token_embedding.weight.device
        prompts = [t.format(n) for n in names for t in self.templates]
        tokens = self.tokenizer(prompts).to(device)
        with torch.set_grad_enabled(self.training and torch.is_grad_enabled()):
            emb = F.normalize(self.text(tokens).float(), dim=-1)
        emb = emb.view(len(names), self.num_templates, -1)
        if not self.training:
            self._eval_cache[key] = emb
        return emb
