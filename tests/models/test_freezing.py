"""The one freezing API: the layer-group partition and its three users."""
import pytest
import torch

from declip_mm.models.backbones.declip_vit import DeCLIPViT
from declip_mm.models.distillers.freezing import apply_distill_freezing, official_frozen_names
from declip_mm.models.freezing import freeze, layer_groups, lock, matching
from declip_mm.utils.errors import ConfigError


@pytest.mark.parametrize('arch_name', ['tiny_eva', 'tiny_vit'])
def test_layer_groups_partition_every_parameter_once(arch_name, request):
    model = DeCLIPViT(request.getfixturevalue(arch_name))
    groups = model.layer_groups()
    assert list(groups) == ['embed', 'block.0', 'block.1', 'block.2', 'block.3', 'head']
    flat = [n for names in groups.values() for n in names]
    assert sorted(flat) == sorted(n for n, _ in model.named_parameters())
    assert len(flat) == len(set(flat))
    if arch_name == 'tiny_eva':
        assert set(groups['embed']) == {'visual.trunk.cls_token', 'visual.trunk.pos_embed',
                                        'visual.trunk.patch_embed.proj.weight',
                                        'visual.trunk.patch_embed.proj.bias'}
        assert set(groups['head']) == {'visual.trunk.norm.weight', 'visual.trunk.norm.bias',
                                       'visual.trunk.head.weight', 'visual.trunk.head.bias'}
    else:
        assert set(groups['embed']) == {'visual.conv1.weight', 'visual.class_embedding',
                                        'visual.positional_embedding', 'visual.ln_pre.weight',
                                        'visual.ln_pre.bias'}
        assert set(groups['head']) == {'visual.ln_post.weight', 'visual.ln_post.bias',
                                       'visual.proj'}
    assert all(n.startswith(('visual.trunk.blocks.2.', 'visual.transformer.resblocks.2.'))
               for n in groups['block.2'])


def test_lock_and_freeze_primitives():
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    groups = layer_groups(net, [net[0]], head_keys=('1.',))
    assert groups == {'embed': [], 'block.0': ['0.weight', '0.bias'],
                      'head': ['1.weight', '1.bias']}
    assert lock(net, ['0.weight', '0.bias', '1.weight'], trainable=['*.bias']) == \
        ['0.weight', '1.weight']
    assert [p.requires_grad for p in net.parameters()] == [False, True, False, True]
    assert freeze(net, ['1.bias']) == ['1.bias']
    assert [p.requires_grad for p in net.parameters()] == [False, True, False, False]
    assert matching(['a.x', 'b.x', 'a.y'], ['a.*']) == ['a.x', 'a.y']


def test_backbone_frozen_options_use_the_groups(tiny_eva):
    model = DeCLIPViT(tiny_eva, frozen=2)
    groups = model.layer_groups()
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == set(groups['embed'] + groups['block.0'] + groups['block.1'])


def test_official_distill_list_on_the_partition(tiny_eva, tiny_vit):
    qq = DeCLIPViT(tiny_eva, mode='qq')
    names = official_frozen_names(qq)
    last = 'visual.trunk.blocks.3.'
    groups = qq.layer_groups()
    assert set(groups['embed']) | set(groups['head']) <= set(names)
    assert {n for n in names if n.startswith(last)} == {
        n for n in groups['block.3'] if n.startswith((last + 'norm2.', last + 'mlp.',
                                                      last + 'attn.k_proj.'))}
    assert not any(n.startswith('visual.trunk.blocks.2.') for n in names)
    assert not any('k_proj' in n for n in official_frozen_names(DeCLIPViT(tiny_eva, mode='csa')))
    vv = official_frozen_names(DeCLIPViT(tiny_eva, mode='vv'))
    assert last + 'attn.q_proj.weight' in vv and last + 'attn.k_proj.weight' in vv
    vit = DeCLIPViT(tiny_vit, mode='qq')
    assert apply_distill_freezing(vit) == official_frozen_names(vit)
    assert 'visual.transformer.resblocks.3.ln_2.weight' in official_frozen_names(vit)
    assert not vit.visual.transformer.resblocks[3].ln_2.weight.requires_grad
    with pytest.raises(ConfigError, match='frozen_student_params'):
        apply_distill_freezing(vit, ['nothing.*'])


def test_catseg_text_trainable_list_uses_lock(tiny_eva):
    from declip_mm.models.segmentors.catseg_text import DeCLIPCATSegTextEncoder
    enc = DeCLIPCATSegTextEncoder(arch=tiny_eva)
    trainable = {n for n, p in enc.text.named_parameters() if p.requires_grad}
    assert trainable == {f'transformer.resblocks.{i}.attn.in_proj_weight' for i in range(2)}


def test_trainable_typo_is_one_config_error():
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    with pytest.raises(ConfigError, match=r"trainable: parameter patterns match nothing: "
                                          r"\['\*\.biass'\]"):
        lock(net, ['0.weight', '0.bias'], trainable=['*.biass'])
    assert freeze(net, ['0.bias', 'no.such']) == ['0.bias']   # only what it really froze
