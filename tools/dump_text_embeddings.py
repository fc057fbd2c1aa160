"""Write the class-name embeddings of a vocabulary to a file the models read back.

    python tools/dump_text_embeddings.py --arch EVA02-CLIP-B-16 --checkpoint CKPT \
        --vocab ov_coco --templates fvit --background --out ov_coco_fvit.pt

``--vocab`` is any vocabulary spec of ``declip_mm.vocab.resolve_vocabulary``: a builtin name
(``ov_coco``, ``lvis_v1``, ``voc21`` ...), a ``.txt`` / ``.json`` class file, or a
comma-separated list (``'cat, dog; puppy'``: ``;`` separates synonyms). ``--templates`` is a
template set (``imagenet``, ``vild``, ``single``, ``scene``, ``fvit``) or ``|``-separated
templates with ``{}``. ``--arch`` is an arch name (e.g. ``OVShapes-Tiny``), a ``.json`` model
config or inline JSON; ``--checkpoint`` any file with the text tower (official DeCLIP /
EVA-CLIP ``text.*``, open_clip, declip_mm).

The output is declip_mm's class-embedding file (``declip_mm.vocab.embedding_file``): the
entries, their ``(C, D)`` embeddings (each row the L2-normalised mean of the class's synonym
embeddings, each of those the normalised template ensemble), the templates and their style,
the embedding of "background" with ``--background``, and the text weights' fingerprint. Give it
to a detector as ``class_embeddings=`` (``DeCLIPFViT`` / ``DeCLIPVocabulary``) or to
``DeCLIPRegionTextClassifier(class_embeddings=...)``. A command line over
``declip_mm.apis.text_embeddings.dump_text_embeddings``.
"""
import argparse

from declip_mm.apis.cli import run_main


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Dump class-name text embeddings')
    parser.add_argument('--arch', required=True, help='arch name, .json model config or JSON')
    parser.add_argument('--checkpoint', required=True, help='file holding the text tower')
    parser.add_argument('--vocab', required=True,
                        help='builtin vocabulary, class file or comma-separated names')
    parser.add_argument('--templates', default='imagenet',
                        help="imagenet | vild | single | scene | fvit, or 'a {}.|the {}.'")
    parser.add_argument('--background', action='store_true',
                        help='also store the embedding of "background" (F-ViT\'s fixed '
                             'background class)')
    parser.add_argument('--out', required=True, help='output .pt file')
    parser.add_argument('--cache-dir', default=None,
                        help='embedding cache folder (default: the user cache folder)')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    from declip_mm.apis.convert import parse_arch
    from declip_mm.apis.text_embeddings import dump_text_embeddings, parse_templates
    emb = dump_text_embeddings(parse_arch(args.arch), args.checkpoint, args.vocab, args.out,
                               parse_templates(args.templates), args.background, args.cache_dir,
                               args.device)
    n, dim = emb.embeddings.shape
    print(f'wrote {args.out}: {n} classes x {dim} dims, {len(emb.templates)} {emb.prompt_style} '
          f'templates{", with a background row" if emb.background is not None else ""}')


if __name__ == '__main__':
    run_main(main)
