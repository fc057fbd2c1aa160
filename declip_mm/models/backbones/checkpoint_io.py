"""Load CLIP image-tower weights from the checkpoint layouts users have, without conversion.

Layouts recognised (after unwrapping ``state_dict`` / ``model`` / ``module`` containers):

* declip_mm / open_clip: ``visual.trunk.*`` (EVA02 through timm) or ``visual.conv1 ...``
  (OpenAI-style). Detector / segmentor checkpoints (``backbone.visual.*``) too.
* EVA-CLIP and official DeCLIP files: ``visual.blocks.N.attn.q_bias`` ... (EVA-CLIP names),
  with or without the ``visual.`` prefix. They are renamed to timm's names by ``EVA_RENAMES``,
  the same table timm applies to EVA-CLIP checkpoints; RoPE buffers are dropped (recomputed).
* OpenAI TorchScript archives (loaded with ``torch.jit.load``).

The layout kept inside the backbone is open_clip's (timm names for EVA02), so open_clip and
declip_mm checkpoints load as they are and only EVA-CLIP files are renamed.
"""
import os
import re
from typing import Dict, List, Tuple

import torch
from torch import Tensor, nn

from ...utils.errors import CheckpointError
from ...utils.package_paths import resolve_package_path
from ...utils.safe_load import safe_torch_load

EVA_RENAMES: List[Tuple[str, str]] = [
    (r'\.attn\.q_bias$', '.attn.q_proj.bias'),
    (r'\.attn\.v_bias$', '.attn.v_proj.bias'),
    (r'\.attn\.inner_attn_ln\.', '.attn.norm.'),
    (r'\.mlp\.ffn_ln\.', '.mlp.norm.'),
    (r'\.mlp\.w1\.', '.mlp.fc1_g.'),
    (r'\.mlp\.w2\.', '.mlp.fc1_x.'),
    (r'\.mlp\.w3\.', '.mlp.fc2.'),
]
_DROP = re.compile(r'(^|\.)rope\.|relative_position_index|\.attn\.k_bias$')


def unwrap_state_dict(obj: object) -> Dict[str, Tensor]:
    """Return the tensor dict inside a checkpoint object."""
    for key in ('state_dict', 'model', 'module'):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise CheckpointError(f'checkpoint holds a {type(obj).__name__}, not a state dict')
    sd = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in obj.items()}
    return {k: v for k, v in sd.items() if isinstance(v, Tensor)}


def visual_state_dict(sd: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """Keys of the image tower in declip_mm's layout (``visual.*``), from any known layout."""
    for prefix in ('backbone.', 'image_encoder.', 'student.', ''):
        sub = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix + 'visual.')}
        if sub:
            sd = sub
            break
    else:
        if any(k.startswith(('blocks.', 'patch_embed.')) for k in sd):  # EVA-CLIP vision-only
            sd = {'visual.' + k: v for k, v in sd.items()}
    if any(k.startswith('visual.blocks.') or k == 'visual.patch_embed.proj.weight' for k in sd):
        sd = _eva_clip_to_timm(sd)
    return {k: v for k, v in sd.items() if k.startswith('visual.')}


def _eva_clip_to_timm(sd: Dict[str, Tensor]) -> Dict[str, Tensor]:
    out = {}
    for key, value in sd.items():
        if not key.startswith('visual.') or _DROP.search(key):
            continue
        new = 'visual.trunk.' + key[len('visual.'):]
        for pattern, repl in EVA_RENAMES:
            new = re.sub(pattern, repl, new)
        out[new] = value
    return out


def read_checkpoint(path: str) -> Dict[str, Tensor]:
    """Load a checkpoint file safely (``weights_only``); TorchScript archives via ``jit.load``."""
    if path.startswith('open_clip:'):
        path = _open_clip_pretrained(path)
    path = resolve_package_path(path)  # declip_mm://assets/... (shipped files)
    if not os.path.isfile(path):
        raise CheckpointError(f'checkpoint file not found: {path}')
    try:
        obj = safe_torch_load(path)
    except CheckpointError as err:
        try:
            obj = torch.jit.load(path, map_location='cpu').state_dict()
        except Exception:
            raise err from None
    except Exception as err:  # e.g. UnicodeDecodeError from the unpickler on a foreign file
        raise CheckpointError(f'cannot read checkpoint {path}: {type(err).__name__}: '
                              f'{str(err).splitlines()[0] if str(err) else ""}') from None
    return unwrap_state_dict(obj)


def _open_clip_pretrained(spec: str) -> str:
    """``open_clip:<model>:<tag>`` -> local file through open_clip's hub download (needs a hub)."""
    import open_clip
    _, model, tag = spec.split(':', 2)
    cfg = open_clip.get_pretrained_cfg(model, tag)
    if not cfg:
        raise CheckpointError(f'open_clip has no pretrained tag {tag!r} for {model!r}')
    try:
        return open_clip.download_pretrained(cfg)
    except Exception as err:  # offline hubs fail here
        raise CheckpointError(f'cannot download {spec} ({type(err).__name__}); '
                              'download it elsewhere and pass the local file') from None


def load_backbone_checkpoint(model: nn.Module, path: str) -> None:
    """Load ``path`` into a ``DeCLIPViT`` strictly; one clear error on any mismatch."""
    sd = visual_state_dict(read_checkpoint(path))
    if not sd:
        raise CheckpointError(f'{path}: no image-tower weights found (expected keys under '
                              '"visual." in the open_clip, EVA-CLIP or declip_mm layout)')
    _adopt_pos_embed_shape(model, sd)
    own = model.state_dict()
    bad_shape = [f'{k} {tuple(v.shape)} vs {tuple(own[k].shape)}' for k, v in sd.items()
                 if k in own and own[k].shape != v.shape]
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    if missing or unexpected or bad_shape:
        raise CheckpointError(
            f'{path} does not fit DeCLIPViT(arch={_arch_name(model)}): '
            f'{_summary("missing", missing)}; {_summary("unexpected", unexpected)}; '
            f'{_summary("wrong shape", bad_shape)}')
    model.load_state_dict(sd, strict=True)


def _adopt_pos_embed_shape(model: nn.Module, sd: Dict[str, Tensor]) -> None:
    """Take a checkpoint's position-embedding grid (it is resampled per forward anyway)."""
    for name, param in model.named_parameters():
        if ('pos_embed' in name or 'positional_embedding' in name) and name in sd:
            if sd[name].shape != param.shape and sd[name].shape[-1] == param.shape[-1]:
                param.data = torch.empty_like(sd[name])


def _summary(what: str, items: List[str], limit: int = 8) -> str:
    if not items:
        return f'no {what} keys'
    more = f' (+{len(items) - limit} more)' if len(items) > limit else ''
    return f'{len(items)} {what}: ' + ', '.join(items[:limit]) + more


def _arch_name(model: nn.Module) -> str:
    cfg = getattr(model, 'arch_cfg', {})
    v = cfg.get('vision_cfg', {})
    return f"width={v.get('width')}, layers={v.get('layers')}, patch={v.get('patch_size')}"
