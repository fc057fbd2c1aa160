"""Write the class-name embeddings of a vocabulary, for classifiers that load them from a file.

    python tools/dump_text_embeddings.py --arch EVA02-CLIP-B-16 --checkpoint CKPT \
        --vocab classes.txt --templates imagenet --out emb.pt [--cache-dir DIR]

``--vocab`` is a text file with one class per line (synonyms separated by ``'; '``, blank lines
and ``#`` comments skipped) or a comma-separated list on the command line (``cat,dog;puppy``
style is not split further: use ``'; '`` inside an entry for synonyms). ``--checkpoint`` is any
file with the text tower (official DeCLIP / EVA-CLIP ``text.*``, open_clip, declip_mm).

The output is ``{'classes': [entry, ...], 'synonyms': [[name, ...], ...], 'templates': [...],
'embeddings': (C, D) float tensor}``; each row is the L2-normalised mean of the class's synonym
embeddings, each of those the normalised template ensemble (``DeCLIPTextEncoder.encode_classes``).
"""
import argparse
import os
from typing import List

from _bootstrap import run_main

from convert_checkpoint import parse_arch  # noqa: E402


def read_vocab(spec: str) -> List[str]:
    """Entries of a vocabulary file, or of a comma-separated list."""
    if os.path.isfile(spec):
        with open(spec, encoding='utf-8') as f:
            lines = [line.strip() for line in f]
        return [line for line in lines if line and not line.startswith('#')]
    if spec.endswith(('.txt', '.csv')) and not os.path.exists(spec):
        from declip_mm.utils.errors import ConfigError
        raise ConfigError(f'vocabulary file not found: {spec}')
    return [item.strip() for item in spec.split(',') if item.strip()]


def parse_templates(spec: str):
    """A template-set name, or a ``|``-separated list of templates with ``{}``."""
    return spec.split('|') if '{}' in spec else spec


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Dump class-name text embeddings')
    parser.add_argument('--arch', required=True, help='arch name or .json model config')
    parser.add_argument('--checkpoint', required=True, help='file holding the text tower')
    parser.add_argument('--vocab', required=True, help='class file or comma-separated names')
    parser.add_argument('--templates', default='imagenet',
                        help="imagenet | vild | single | scene, or 'a {}.|the {}.'")
    parser.add_argument('--out', required=True, help='output .pt file')
    parser.add_argument('--cache-dir', help='reuse / store embeddings here')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    import torch
    from declip_mm.models.text import DeCLIPTextEncoder, check_vocabulary
    vocab = read_vocab(args.vocab)
    groups = check_vocabulary(vocab)
    encoder = DeCLIPTextEncoder(parse_arch(args.arch), templates=parse_templates(args.templates),
                                cache_dir=args.cache_dir,
                                init_cfg=dict(type='Pretrained', checkpoint=args.checkpoint))
    encoder.init_weights()
    encoder.to(args.device).eval()
    with torch.no_grad():
        emb = encoder.encode_classes(vocab).float().cpu()
    from declip_mm.engine.atomic_io import atomic_torch_save
    atomic_torch_save({'classes': list(vocab), 'synonyms': groups,
                       'templates': encoder.templates, 'embeddings': emb}, args.out)
    print(f'wrote {args.out}: {emb.shape[0]} classes x {emb.shape[1]} dims, '
          f'{len(encoder.templates)} templates')


if __name__ == '__main__':
    run_main(main)
