"""Export a DeCLIP encoder to open_clip's layout or to the official EVA-CLIP / DeCLIP layout.

    python tools/convert_checkpoint.py IN OUT [--arch NAME|FILE.json] [--layout open_clip|official]

``IN`` is any checkpoint declip_mm reads: a ``DeCLIPViT`` state dict or ensembled backbone, an
MMDetection / MMSegmentation / distiller checkpoint (``backbone.visual.*``, ``student.visual.*``,
text tower under ``vocabulary.text_encoder.text.*`` or ``text_encoder.text.*``), or an official
DeCLIP / EVA-CLIP file. ``OUT`` gets (``declip_mm.checkpoint.export``):

* ``--layout open_clip`` (default): EVA02 towers as ``visual.trunk.*`` (timm ``Eva`` names, as
  open_clip's ``EVA02-B-16`` / ``EVA02-L-14(-336)`` hold them) plus the text tower as ``text.*``;
  OpenAI-style towers as ``visual.*`` plus top-level text keys.
  ``open_clip.create_model(NAME, pretrained=OUT)`` loads it strictly when it has a text tower.
* ``--layout official``: EVA-CLIP names (``visual.blocks.N.attn.q_bias`` ...) with the RoPE
  buffers the official model builds, plus ``text.*`` and ``logit_scale``: the official ZSSS,
  CAT-Seg and F-ViT code bases load it as they load DeCLIP's released weights.

Text keys and ``logit_scale`` are written when the input has a text tower (a missing
``logit_scale`` becomes CLIP's initial ``ln(1 / 0.07)``, which does not change the embeddings).
With ``--arch`` the weights are first checked strictly against ``DeCLIPViT(arch)`` (and the text
tower against ``DeCLIPTextEncoder(arch)``); without it, an ensembled backbone's recorded
``meta.arch`` is used for the RoPE buffers of ``--layout official``.

``--catseg-official``: ``IN`` is the official DeCLIP CAT-Seg release (detectron2 ``.pth`` of the
DeCLIP_CATSeg branch); ``OUT`` is a ``DeCLIPCATSeg`` checkpoint for ``tools/test.py`` with the
CAT-Seg configs (key table: ``declip_mm/checkpoint/layouts/catseg_official.py``); ``--arch``
names the CLIP size the file must hold (default ``EVA02-CLIP-B-16``; JSON: its vision width).
"""
import argparse
import json
from typing import Optional, Union

from _bootstrap import run_main


def parse_arch(spec: Optional[str]) -> Union[str, dict, None]:
    """An arch name, a JSON file of the EVA-CLIP model-config form, or inline JSON."""
    from declip_mm.utils.errors import ConfigError
    if spec is None:
        return None
    try:
        if spec.lstrip().startswith('{'):
            return json.loads(spec)
        if spec.endswith('.json'):
            with open(spec, encoding='utf-8') as f:
                return json.load(f)
    except (OSError, ValueError) as err:
        raise ConfigError(f'--arch {spec}: {type(err).__name__}: {err}') from None
    return spec


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export a DeCLIP encoder to open_clip or the '
                                                 'official EVA-CLIP / DeCLIP layout')
    parser.add_argument('input', help='declip_mm / detector / official DeCLIP checkpoint')
    parser.add_argument('output', help='where to write the state dict')
    parser.add_argument('--arch', help='check the weights against this arch (name or .json)')
    parser.add_argument('--layout', choices=['open_clip', 'official'], default='open_clip',
                        help='key layout of OUT (default: open_clip)')
    parser.add_argument('--catseg-official', action='store_true',
                        help='IN is the official DeCLIP CAT-Seg (detectron2) checkpoint')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    from declip_mm.checkpoint import read_checkpoint
    from declip_mm.checkpoint.export import export, summary
    from declip_mm.engine.atomic_io import atomic_torch_save
    if args.catseg_official:
        from declip_mm.checkpoint.layouts import catseg_official
        arch = parse_arch(args.arch) or 'EVA02-CLIP-B-16'  # a name, or JSON with the width
        size = arch['vision_cfg']['width'] if isinstance(arch, dict) else arch
        sd = catseg_official.convert(read_checkpoint(args.input), size, source=args.input)
        atomic_torch_save(dict(state_dict=sd, meta=dict(converted_from=args.input)), args.output)
        print(f'wrote {args.output}: {len(sd)} DeCLIPCATSeg tensors')
        return
    out = export(read_checkpoint(args.input), args.layout, parse_arch(args.arch), args.input)
    atomic_torch_save(out, args.output)
    print(f'wrote {args.output}: {summary(out)}')


if __name__ == '__main__':
    run_main(main)
