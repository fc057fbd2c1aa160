"""Prompt templates: the 80 OpenAI ImageNet templates, ViLD's, and single-prompt sets."""
from typing import List, Sequence, Union

SINGLE = ['a photo of a {}.']
SCENE = ['A photo of a {} in the scene']  # CAT-Seg's prompt


def get_templates(templates: Union[str, Sequence[str]]) -> List[str]:
    """Resolve a template-set name (``imagenet`` (80), ``vild``, ``single``, ``scene``) or a list.

    The 80 ImageNet and the ViLD templates are taken from mmsegmentation, which ships them.
    """
    if isinstance(templates, str):
        if templates == 'single':
            return list(SINGLE)
        if templates == 'scene':
            return list(SCENE)
        if templates in ('imagenet', 'vild'):
            from mmseg.utils.get_templates import get_predefined_templates
            return list(get_predefined_templates(templates))
        raise ValueError(f"unknown template set {templates!r}: use 'imagenet', 'vild', 'single', "
                         "'scene' or a list of strings with '{}'")
    out = list(templates)
    if not out or not all('{}' in t for t in out):
        raise ValueError('templates must be a non-empty list of strings containing "{}"')
    return out
