"""Prompt templates: named sets and F-ViT's prompt recipe.

A template set turns one class name into the prompts whose CLIP text embeddings are averaged
(prompt ensembling). Two styles:

* ``'plain'``: ``template.format(name)`` for each template with one ``{}``;
* ``'fvit'``: the recipe of CLIPSelf's F-ViT (``F-ViT/tools/clip_utils.py``,
  ``build_text_embedding_openclip``), with which its class-embedding files were made: the name
  is lower-cased, ``_`` becomes a space, ``/`` becomes ``' or '`` (Objects365 names) and a
  trailing ``.`` is dropped; ``{article}`` is ``'an'`` when the unprocessed name starts with a
  lower-case vowel, else ``'a'``; a prompt that then starts with ``'a'`` or ``'the'`` is
  prefixed with ``'This is '``.

Named sets (:func:`get_templates`): ``'imagenet'`` (the 80 OpenAI ImageNet templates) and
``'vild'`` (14, both shipped by mmsegmentation), ``'single'`` ('a photo of a {}.'),
``'scene'`` (CAT-Seg's prompt) and ``'fvit'`` (F-ViT's 63 templates, style ``'fvit'``).
"""
import string
from dataclasses import dataclass
from typing import List, Sequence, Tuple, Union

from ..utils.errors import ConfigError

SINGLE = ('a photo of a {}.',)
SCENE = ('A photo of a {} in the scene',)  # CAT-Seg's prompt

FVIT_TEMPLATES = (
    'There is {article} {} in the scene.',
    'There is the {} in the scene.',
    'a photo of {article} {} in the scene.',
    'a photo of the {} in the scene.',
    'a photo of one {} in the scene.',
    'itap of {article} {}.',
    'itap of my {}.',
    'itap of the {}.',
    'a photo of {article} {}.',
    'a photo of my {}.',
    'a photo of the {}.',
    'a photo of one {}.',
    'a photo of many {}.',
    'a good photo of {article} {}.',
    'a good photo of the {}.',
    'a bad photo of {article} {}.',
    'a bad photo of the {}.',
    'a photo of a nice {}.',
    'a photo of the nice {}.',
    'a photo of a cool {}.',
    'a photo of the cool {}.',
    'a photo of a weird {}.',
    'a photo of the weird {}.',
    'a photo of a small {}.',
    'a photo of the small {}.',
    'a photo of a large {}.',
    'a photo of the large {}.',
    'a photo of a clean {}.',
    'a photo of the clean {}.',
    'a photo of a dirty {}.',
    'a photo of the dirty {}.',
    'a bright photo of {article} {}.',
    'a bright photo of the {}.',
    'a dark photo of {article} {}.',
    'a dark photo of the {}.',
    'a photo of a hard to see {}.',
    'a photo of the hard to see {}.',
    'a low resolution photo of {article} {}.',
    'a low resolution photo of the {}.',
    'a cropped photo of {article} {}.',
    'a cropped photo of the {}.',
    'a close-up photo of {article} {}.',
    'a close-up photo of the {}.',
    'a jpeg corrupted photo of {article} {}.',
    'a jpeg corrupted photo of the {}.',
    'a blurry photo of {article} {}.',
    'a blurry photo of the {}.',
    'a pixelated photo of {article} {}.',
    'a pixelated photo of the {}.',
    'a black and white photo of the {}.',
    'a black and white photo of {article} {}.',
    'a plastic {}.',
    'the plastic {}.',
    'a toy {}.',
    'the toy {}.',
    'a plushie {}.',
    'the plushie {}.',
    'a cartoon {}.',
    'the cartoon {}.',
    'an embroidered {}.',
    'the embroidered {}.',
    'a painting of the {}.',
    'a painting of a {}.',
)
"""The 63 templates of CLIPSelf's F-ViT (``multiple_templates`` in its ``clip_utils.py``)."""

PROMPT_STYLES = ('plain', 'fvit')
NAMED_SETS = ('imagenet', 'vild', 'single', 'scene', 'fvit')


def fvit_article(name: str) -> str:
    """F-ViT's article: ``'an'`` if ``name`` starts with a lower-case vowel, else ``'a'``."""
    return 'an' if name[:1] in tuple('aeiou') else 'a'


def fvit_name(name: str) -> str:
    """F-ViT's name processing: ``_`` -> space, ``/`` -> ``' or '``, lower case, no final dot."""
    return name.replace('_', ' ').replace('/', ' or ').lower().rstrip('.')


def fvit_prompt(template: str, name: str) -> str:
    """One F-ViT prompt: the template filled with the processed name and its article, with
    ``'This is '`` before prompts starting with ``'a'`` or ``'the'``."""
    text = template.format(fvit_name(name), article=fvit_article(name))
    return 'This is ' + text if text.startswith(('a', 'the')) else text


def _fields(template: str) -> List[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]


@dataclass(frozen=True)
class PromptTemplates:
    """A template set and its style (see the module docstring).

    Args:
        templates: strings with one ``{}`` (and, for style ``'fvit'``, optionally
            ``{article}``).
        style: ``'plain'`` or ``'fvit'``.
    """

    templates: Tuple[str, ...]
    style: str = 'plain'

    def __post_init__(self) -> None:
        object.__setattr__(self, 'templates', tuple(self.templates))
        if self.style not in PROMPT_STYLES:
            raise ConfigError(f'unknown prompt style {self.style!r}: use one of {PROMPT_STYLES}')
        allowed = {''} | ({'article'} if self.style == 'fvit' else set())
        if not self.templates or not all(
                isinstance(t, str) and _fields(t).count('') == 1 and set(_fields(t)) <= allowed
                for t in self.templates):
            raise ConfigError('templates must be a non-empty list of strings containing "{}" '
                              f'once (and, for the fvit style, "{{article}}"): {self.templates!r}')

    def __len__(self) -> int:
        return len(self.templates)

    def prompts(self, name: str) -> List[str]:
        """The prompts of one class name, one per template."""
        if self.style == 'fvit':
            return [fvit_prompt(t, name) for t in self.templates]
        return [t.format(name) for t in self.templates]


TemplateSpec = Union[str, Sequence[str], dict, PromptTemplates]


def get_templates(spec: TemplateSpec) -> PromptTemplates:
    """Resolve a template spec: a set name (``'imagenet'``, ``'vild'``, ``'single'``,
    ``'scene'``, ``'fvit'``), a list of templates (style ``'plain'``), a dict
    ``dict(templates=[...], style='fvit')`` or a :class:`PromptTemplates`.

    Raises:
        ConfigError: unknown set name or malformed templates.
    """
    if isinstance(spec, PromptTemplates):
        return spec
    if isinstance(spec, str):
        if spec == 'single':
            return PromptTemplates(SINGLE)
        if spec == 'scene':
            return PromptTemplates(SCENE)
        if spec == 'fvit':
            return PromptTemplates(FVIT_TEMPLATES, style='fvit')
        if spec in ('imagenet', 'vild'):
            from mmseg.utils.get_templates import get_predefined_templates
            return PromptTemplates(tuple(get_predefined_templates(spec)))
        raise ConfigError(f'unknown template set {spec!r}: use one of {NAMED_SETS}, a list of '
                          "strings with '{}' or dict(templates=[...], style='fvit')")
    if isinstance(spec, dict):
        return PromptTemplates(tuple(spec.get('templates') or ()), spec.get('style', 'plain'))
    return PromptTemplates(tuple(spec or ()))
