"""Class-name embeddings of a vocabulary, written to declip_mm's class-embedding file
(``declip_mm.vocab.embedding_file``): the function behind ``tools/dump_text_embeddings.py``."""
from typing import List, Optional, Union

from ..vocab import ClassEmbeddings, VocabSpec
from .convert import ArchSpec


def parse_templates(spec: str) -> Union[str, List[str]]:
    """A template-set name, or a ``|``-separated list of templates with ``{}``."""
    return spec.split('|') if '{}' in spec else spec


def dump_text_embeddings(arch: ArchSpec, checkpoint: str, vocab: VocabSpec, out: str,
                         templates: Union[str, List[str]] = 'imagenet', background: bool = False,
                         cache_dir: Optional[str] = None, device: str = 'cpu') -> ClassEmbeddings:
    """Encode the vocabulary's class names and save them at ``out``.

    Args:
        arch: arch name or EVA-CLIP-form model config (see ``convert.parse_arch``).
        checkpoint: any file with the text tower (official DeCLIP / EVA-CLIP, open_clip,
            declip_mm).
        vocab: any vocabulary spec of ``declip_mm.vocab.resolve_vocabulary`` (free text too).
        out: the ``.pt`` file written.
        templates: a template-set name or a list of templates with ``{}``.
        background: also store the embedding of "background" (F-ViT's background class).
        cache_dir: embedding cache folder (default: the user cache folder).
        device: where the text tower runs.

    Returns:
        what was saved: ``(C, D)`` embeddings (each row the L2-normalised mean of the class's
        synonym embeddings), entries, templates, style, background row, text fingerprint.
    """
    import torch

    from ..models.text import DeCLIPTextEncoder
    from ..vocab import check_vocabulary, resolve_vocabulary, save_class_embeddings
    entries = resolve_vocabulary(vocab, free_text=True)
    check_vocabulary(entries)
    encoder = DeCLIPTextEncoder(arch, templates=templates, cache_dir=cache_dir,
                                init_cfg=dict(type='Pretrained', checkpoint=checkpoint))
    encoder.init_weights()
    encoder.to(device).eval()
    with torch.no_grad():
        emb = encoder.encode_classes(entries).float().cpu()
        bg = encoder.encode_classes(['background'])[0].float().cpu() if background else None
    tpl = encoder.templates
    result = ClassEmbeddings(emb, list(entries), list(tpl.templates), tpl.style, bg,
                             encoder.fingerprint())
    save_class_embeddings(out, result)
    return result
