"""Export a DeCLIP encoder to open_clip's layout or to the official EVA-CLIP / DeCLIP layout.

    python tools/convert_checkpoint.py IN OUT [--arch NAME|FILE.json] [--layout open_clip|official]
    python tools/convert_checkpoint.py IN OUT --from clipself-fvit [--config CONFIG]
    python tools/convert_checkpoint.py IN OUT --from catseg-official [--arch NAME|JSON]

The second form turns a CLIPSelf F-ViT detector checkpoint (mmdet 2) into a declip_mm
``DeCLIPFViT`` checkpoint (key table: ``declip_mm/checkpoint/layouts/clipself_fvit.py``).

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

``--from catseg-official``: ``IN`` is the official DeCLIP CAT-Seg release (detectron2 ``.pth`` of the
DeCLIP_CATSeg branch); ``OUT`` is a ``DeCLIPCATSeg`` checkpoint for ``tools/test.py`` with the
CAT-Seg configs (key table: ``declip_mm/checkpoint/layouts/catseg_official.py``); ``--arch``
names the CLIP size the file must hold (default ``EVA02-CLIP-B-16``; JSON: its vision width).
A command line over ``declip_mm.apis.convert``.
"""
import argparse

from declip_mm.apis.cli import run_main


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export a DeCLIP encoder to open_clip or the '
                                                 'official EVA-CLIP / DeCLIP layout')
    parser.add_argument('input', help='declip_mm / detector / official DeCLIP checkpoint')
    parser.add_argument('output', help='where to write the state dict')
    parser.add_argument('--arch', help='check the weights against this arch (name or .json)')
    parser.add_argument('--layout', choices=['open_clip', 'official'], default='open_clip',
                        help='key layout of OUT (default: open_clip)')
    parser.add_argument('--from', dest='source', default='declip',
                        choices=('declip', 'clipself-fvit', 'catseg-official'),
                        help="'clipself-fvit': convert a CLIPSelf F-ViT detector (mmdet 2) into a "
                        "declip_mm DeCLIPFViT checkpoint; 'catseg-official': the official DeCLIP "
                        'CAT-Seg (detectron2) checkpoint into a DeCLIPCATSeg checkpoint; default: '
                        'export an encoder')
    parser.add_argument('--config', help="with --from clipself-fvit: check the result against "
                        "this DeCLIPFViT config's model (key names and shapes)")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    from declip_mm.apis import convert
    if args.source == 'clipself-fvit':
        n = convert.convert_clipself_fvit_file(args.input, args.output, args.config)
        print(f'wrote {args.output}: {n} DeCLIPFViT tensors')
    elif args.source == 'catseg-official':
        n = convert.convert_catseg_file(args.input, args.output, convert.parse_arch(args.arch))
        print(f'wrote {args.output}: {n} DeCLIPCATSeg tensors')
    else:
        summary = convert.export_encoder_file(args.input, args.output, args.layout,
                                              convert.parse_arch(args.arch))
        print(f'wrote {args.output}: {summary}')


if __name__ == '__main__':
    run_main(main)
