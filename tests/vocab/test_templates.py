"""declip_mm.vocab.templates: named sets, custom lists, and CLIPSelf F-ViT's prompt recipe.

The expected F-ViT prompts were derived by hand from CLIPSelf ``F-ViT/tools/clip_utils.py``
(``article``, ``processed_name(rm_dot=True)``, ``multiple_templates`` and the "This is " rule of
``build_text_embedding_openclip``); upstream code is not imported here.
"""
import hashlib

import pytest

from declip_mm.utils.errors import ConfigError
from declip_mm.vocab import PromptTemplates, get_templates
from declip_mm.vocab.templates import FVIT_TEMPLATES

TWO = ['a photo of a {}.', 'a {} in the scene.']


def test_named_and_custom_sets():
    assert len(get_templates('imagenet')) == 80
    assert len(get_templates('vild')) == 14
    assert get_templates('single').templates == ('a photo of a {}.',)
    assert get_templates('scene').prompts('cat') == ['A photo of a cat in the scene']
    custom = get_templates(TWO)
    assert custom == PromptTemplates(tuple(TWO), 'plain') and custom.style == 'plain'
    assert custom.prompts('traffic light') == ['a photo of a traffic light.',
                                               'a traffic light in the scene.']
    assert get_templates(custom) is custom
    assert get_templates(dict(templates=['{} {article}'], style='fvit')).prompts('owl') == \
        ['owl an']
    with pytest.raises(ValueError, match='unknown template set'):
        get_templates('coco')
    for bad in (['no placeholder'], [], ['{} and {}'], ['{article} {}']):
        with pytest.raises(ConfigError, match='containing'):
            get_templates(bad)   # '{article}' only in the fvit style


def test_fvit_templates_are_upstreams():
    assert len(FVIT_TEMPLATES) == 63 and len(set(FVIT_TEMPLATES)) == 63
    assert sum('{article}' in t for t in FVIT_TEMPLATES) == 15
    # sha1 of upstream's multiple_templates joined by newlines, computed from clip_utils.py
    digest = hashlib.sha1('\n'.join(FVIT_TEMPLATES).encode()).hexdigest()
    assert digest == '4a7d8b4851902a5f33217f38ad22017711bac6be'
    tpl = get_templates('fvit')
    assert tpl.style == 'fvit' and tpl.templates == FVIT_TEMPLATES


def test_fvit_prompts_underscore_name():
    p = get_templates('fvit').prompts('traffic_light')
    assert len(p) == 63
    assert p[0] == 'There is a traffic light in the scene.'
    assert p[1] == 'There is the traffic light in the scene.'
    assert p[2] == 'This is a photo of a traffic light in the scene.'
    assert p[5] == 'itap of a traffic light.'
    assert p[6] == 'itap of my traffic light.'
    assert p[52] == 'This is the plastic traffic light.'
    assert p[59] == 'This is an embroidered traffic light.'
    assert p[62] == 'This is a painting of a traffic light.'
    # the 5 prompts starting with 'There is' / 'itap' get no prefix, the 58 others do
    assert sum(s.startswith('This is ') for s in p) == 58


def test_fvit_prompts_slash_vowel_and_case():
    tpl = get_templates('fvit')
    assert tpl.prompts('Cup/Glass')[8] == 'This is a photo of a cup or glass.'
    apple = tpl.prompts('apple')
    assert apple[0] == 'There is an apple in the scene.'
    assert apple[13] == 'This is a good photo of an apple.'
    assert apple[50] == 'This is a black and white photo of an apple.'
    # upstream's article looks at the unprocessed name: upper-case vowels get 'a'
    assert tpl.prompts('Eagle')[0] == 'There is a eagle in the scene.'
    assert tpl.prompts('tennis ball.')[6] == 'itap of my tennis ball.'   # final dot dropped
