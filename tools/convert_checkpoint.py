"""Export a distilled DeCLIP encoder to a state dict that open_clip loads.

    python tools/convert_checkpoint.py IN OUT [--arch NAME|FILE.json]
    python tools/convert_checkpoint.py IN OUT --from clipself-fvit [--config CONFIG]

The second form turns a CLIPSelf F-ViT detector checkpoint into a declip_mm ``DeCLIPFViT``
checkpoint (key table: ``declip_mm/checkpoint/layouts/clipself_fvit.py``).

``IN`` is any checkpoint declip_mm reads: a ``DeCLIPViT`` state dict, an MMDetection /
MMSegmentation / distiller checkpoint (``backbone.visual.*``, ``student.visual.*``), or an
official DeCLIP / EVA-CLIP file (EVA-CLIP key names, renamed here). ``OUT`` gets open_clip's
layout:

* EVA02 towers: ``visual.trunk.*`` (timm ``Eva`` names, as open_clip's ``EVA02-B-16`` /
  ``EVA02-L-14(-336)`` models hold them) and the text tower as ``text.*`` (``CustomTextCLIP``);
* OpenAI-style towers: ``visual.*`` and the text tower at the top level (``CLIP``).

Text keys and ``logit_scale`` are copied when the input has a text tower; if it has text but no
``logit_scale``, CLIP's initial value ``ln(1 / 0.07)`` is written (it does not affect the
embeddings) so that ``open_clip.create_model(NAME, pretrained=OUT)`` loads strictly. Without a
text tower the file holds the image tower only: load it with
``model.visual.load_state_dict({k[7:]: v ...})`` or open_clip's ``pretrained_image_path``.

With ``--arch`` the weights are first loaded strictly into ``DeCLIPViT(arch)`` (and the text
tower into ``DeCLIPTextEncoder(arch)``), so a mismatch fails here with one clear message.
"""
import argparse
import json
import math
import os
from typing import Dict, Optional, Union

from _bootstrap import run_main

import torch  # noqa: E402
from torch import Tensor  # noqa: E402


def parse_arch(spec: Optional[str]) -> Union[str, dict, None]:
    """An arch name, a JSON file of the EVA-CLIP model-config form, or inline JSON."""
    if spec is None:
        return None
    if spec.lstrip().startswith('{'):
        return json.loads(spec)
    if spec.endswith('.json'):
        with open(spec) as f:
            return json.load(f)
    return spec


def family_of(visual: Dict[str, Tensor]) -> str:
    return 'eva' if any(k.startswith('visual.trunk.') for k in visual) else 'openai'


def convert(sd: Dict[str, Tensor], arch: Union[str, dict, None] = None) -> Dict[str, Tensor]:
    """declip_mm / DeCLIP / EVA-CLIP tensors -> open_clip state dict (see module docstring)."""
    from declip_mm.models.backbones.checkpoint_io import visual_state_dict
    from declip_mm.models.text.text_checkpoint import text_state_dict
    from declip_mm.utils.errors import CheckpointError
    visual = visual_state_dict(sd)
    if not visual:
        raise CheckpointError('no image-tower weights found (expected "visual." keys in the '
                              'declip_mm, detector, open_clip or EVA-CLIP layout)')
    family = family_of(visual)
    text = {k: v for k, v in text_state_dict(sd).items() if k != 'attn_mask'}
    if arch is not None:
        check_against_arch(visual, text, arch, family)
    out = dict(visual)
    if text:
        out.update({('text.' if family == 'eva' else '') + k: v for k, v in text.items()})
        scale = sd.get('logit_scale')  # CLIP's own; a detector head's scale is not it
        out['logit_scale'] = scale if scale is not None else torch.tensor(math.log(1 / 0.07))
    return {k: v.detach().clone().contiguous() for k, v in out.items()}


def check_against_arch(visual: Dict[str, Tensor], text: Dict[str, Tensor],
                       arch: Union[str, dict], family: str) -> None:
    """Strict loads into declip_mm's modules; ``CheckpointError`` on any mismatch."""
    from declip_mm.models.backbones import DeCLIPViT
    from declip_mm.models.backbones.archs import is_eva, resolve_arch
    from declip_mm.models.backbones.checkpoint_io import (_adopt_pos_embed_shape, _summary)
    from declip_mm.utils.errors import CheckpointError
    cfg = resolve_arch(arch)
    if ('eva' if is_eva(cfg) else 'openai') != family:
        raise CheckpointError(f'the checkpoint holds an {family} image tower, --arch '
                              f'{arch if isinstance(arch, str) else "(dict)"} is not one')
    model = DeCLIPViT(cfg)
    _adopt_pos_embed_shape(model, visual)
    _strict(model, visual, 'DeCLIPViT', _summary)
    if text:
        from declip_mm.models.text import DeCLIPTextEncoder
        _strict(DeCLIPTextEncoder(cfg).text, text, 'the text tower', _summary)


def _strict(module: torch.nn.Module, sd: Dict[str, Tensor], what: str, summary) -> None:
    from declip_mm.utils.errors import CheckpointError
    own = module.state_dict()
    missing, unexpected = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
    shapes = [f'{k} {tuple(v.shape)} vs {tuple(own[k].shape)}' for k, v in sd.items()
              if k in own and own[k].shape != v.shape]
    if missing or unexpected or shapes:
        raise CheckpointError(f'weights do not fit {what} of --arch: '
                              f'{summary("missing", missing)}; '
                              f'{summary("unexpected", unexpected)}; '
                              f'{summary("wrong shape", shapes)}')


def save_atomic(obj: object, path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f'{path}.{os.getpid()}.tmp'
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export a DeCLIP encoder to open_clip format')
    parser.add_argument('input', help='declip_mm / detector / official DeCLIP checkpoint')
    parser.add_argument('output', help='where to write the open_clip state dict')
    parser.add_argument('--arch', help='check the weights against this arch (name or .json)')
    parser.add_argument('--from', dest='source', choices=('declip', 'clipself-fvit'),
                        default='declip',
                        help="'clipself-fvit': convert a CLIPSelf F-ViT detector (mmdet 2) into a "
                        'declip_mm DeCLIPFViT checkpoint instead of exporting an encoder')
    parser.add_argument('--config', help="with --from clipself-fvit: check the result against "
                        "this DeCLIPFViT config's model (key names and shapes)")
    return parser.parse_args(argv)


def convert_clipself_fvit_file(args: argparse.Namespace) -> None:
    """``--from clipself-fvit``: CLIPSelf F-ViT checkpoint -> ``{'state_dict': ...}``."""
    from declip_mm.checkpoint.layouts.clipself_fvit import check_fits, convert_clipself_fvit
    from declip_mm.models.backbones.checkpoint_io import read_checkpoint
    out = convert_clipself_fvit(read_checkpoint(args.input))
    if args.config:
        from mmdet.registry import MODELS
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        import declip_mm  # noqa: F401
        init_default_scope('mmdet')
        check_fits(out, MODELS.build(Config.fromfile(args.config).model).state_dict())
    save_atomic({'state_dict': out, 'meta': {'converted_from': 'clipself-fvit'}}, args.output)
    print(f'wrote {args.output}: {len(out)} DeCLIPFViT tensors')


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.source == 'clipself-fvit':
        return convert_clipself_fvit_file(args)
    from declip_mm.models.backbones.checkpoint_io import read_checkpoint
    out = convert(read_checkpoint(args.input), parse_arch(args.arch))
    save_atomic(out, args.output)
    n_vis = sum(k.startswith('visual.') for k in out)
    fam = family_of(out)
    n_txt = len(out) - n_vis - ('logit_scale' in out)
    print(f'wrote {args.output}: {n_vis} image-tower tensors ({fam}), {n_txt} text-tower tensors'
          + (', logit_scale' if 'logit_scale' in out else ''))


if __name__ == '__main__':
    run_main(main)
