"""Vocabularies and class embeddings, in one place (imports nothing of ``models`` / ``datasets``).

* :mod:`.names`: vocabulary specs -> class entries, the synonym rule, the shipped class lists
  (``class_names/*.txt``, :mod:`.benchmarks`, :mod:`.lvis_rare`);
* :mod:`.templates`: prompt template sets, incl. CLIPSelf F-ViT's recipe (``'fvit'``);
* :mod:`.embedding_file`: declip_mm's class-embedding file format and the upstream readers;
* :mod:`.cache`: the one memory + disk cache of text embeddings.
"""
from .benchmarks import (DETECTION_VOCABULARIES, OV_COCO_BASE_CLASSES, OV_COCO_NOVEL_CLASSES,
                         coco_classes, lvis_v1_base_classes, lvis_v1_classes, ov_coco_classes)
from .cache import EmbeddingCache, cache_key, default_cache_dir, weights_fingerprint
from .embedding_file import (ClassEmbeddings, load_class_embeddings, save_class_embeddings)
from .lvis_rare import LVIS_V1_RARE_CLASSES
from .names import (CLASS_NAME_DIR, Entry, VocabSpec, builtin_class_files, builtin_vocabularies,
                    check_vocabulary, entry_key, read_class_file, resolve_vocabulary,
                    split_synonyms)
from .templates import PromptTemplates, get_templates

__all__ = [
    'DETECTION_VOCABULARIES', 'OV_COCO_BASE_CLASSES', 'OV_COCO_NOVEL_CLASSES',
    'LVIS_V1_RARE_CLASSES', 'coco_classes', 'lvis_v1_base_classes', 'lvis_v1_classes',
    'ov_coco_classes', 'EmbeddingCache', 'cache_key', 'default_cache_dir', 'weights_fingerprint',
    'ClassEmbeddings', 'load_class_embeddings', 'save_class_embeddings', 'CLASS_NAME_DIR',
    'Entry', 'VocabSpec', 'builtin_class_files', 'builtin_vocabularies', 'check_vocabulary',
    'entry_key', 'read_class_file', 'resolve_vocabulary', 'split_synonyms', 'PromptTemplates',
    'get_templates'
]
