"""Text-tower part of ``check_fidelity.py --text``: the official EVA-CLIP / open_clip-2.16
``TextTransformer`` and tokenizer against ``DeCLIPTextEncoder`` on the same random weights."""
import contextlib
import importlib
import io
import os
import sys
from typing import Callable, List, Tuple

import torch
from torch import nn


def arch_with_text(arch):
    """Tiny arch dicts here have no text tower: add declip_mm.testing's tiny one."""
    if isinstance(arch, dict) and 'text_cfg' not in arch:
        from declip_mm.testing import TINY_TEXT
        return dict(arch, text_cfg=TINY_TEXT)
    return arch



def compare_text(name: str, family: str, arch, folder: str, seed: int, dtype: torch.dtype,
                 randomize: Callable[[nn.Module, int], None]) -> List[Tuple[str, float, bool]]:
    """Official text tower + tokenizer vs ``DeCLIPTextEncoder`` on the same random weights.

    The official packages must already be imported (``check_fidelity.import_official``);
    ``randomize(module, seed)`` fills the official tower's weights.
    """
    from declip_mm.models.backbones.archs import resolve_arch
    from declip_mm.models.text import DeCLIPTextEncoder
    cfg = resolve_arch(arch)
    t = cfg['text_cfg']
    pkg = '_official_eva_clip' if family == 'eva' else '_official_open_clip'
    tr = sys.modules[f'{pkg}.transformer']
    with contextlib.redirect_stdout(io.StringIO()):
        tok = importlib.import_module('_official_eva_clip.tokenizer')  # the same BPE for both
    act = tr.QuickGELU if cfg.get('quick_gelu') else nn.GELU
    kw = dict(xattn=False) if family == 'eva' else {}
    torch.manual_seed(seed)
    official = tr.TextTransformer(context_length=t['context_length'], vocab_size=t['vocab_size'],
                                  width=t['width'], heads=t['heads'], layers=t['layers'],
                                  output_dim=cfg['embed_dim'], act_layer=act,
                                  norm_layer=tr.LayerNorm, **kw).eval()
    randomize(official, seed)
    sd = official.state_dict()
    prefix = 'text.' if family == 'eva' else ''
    path = os.path.join(folder, f'{family}_text.pt')
    torch.save({'state_dict': {prefix + k: v for k, v in sd.items()}}, path)
    ours = DeCLIPTextEncoder(arch, templates='single',
                             init_cfg=dict(type='Pretrained', checkpoint=path))
    ours.init_weights()
    ours.to(dtype)
    official.to(dtype)
    prompts = ['a photo of a traffic light.', 'an aeroplane', 'A PHOTO OF THE   cat!!',
               'a {} with ümlauts and emoji 🐈']
    tokens = tok.tokenize(prompts, context_length=t['context_length'])
    same_tokens = torch.equal(tokens, ours.tokenizer(prompts))
    ref = torch.nn.functional.normalize(official(tokens).float(), dim=-1)
    d = (ours.encode_text(prompts) - ref).abs().max().item()
    spread = (ref[0] @ ref[1:].T).max().item()  # the prompts do give different embeddings
    return [(f'{name} text tokenizer == official tokenizer (exact)', 0.0, same_tokens),
            (f'{name} text encode_text vs official TextTransformer (4 prompts, max cosine '
             f'between prompts {spread:.3f})', d, None)]
