from .templates import get_templates
from .text_encoder import DeCLIPTextEncoder, check_vocabulary, split_synonyms

__all__ = ['DeCLIPTextEncoder', 'get_templates', 'check_vocabulary', 'split_synonyms']
