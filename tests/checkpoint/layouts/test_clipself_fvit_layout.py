"""CLIPSelf F-ViT checkpoints (mmdet 2 key names, written out here from CLIPSelf's modules)
convert to DeCLIPFViT checkpoints that load strictly, with the same numbers in the right places;
a wrong-size or foreign checkpoint is refused in one line naming the keys."""
import os

import pytest
import torch

import declip_mm  # noqa: F401
from declip_mm.utils.errors import CheckpointError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

NAMES = ['person', 'car', 'dog', 'cat']


def bn(prefix, c):
    return {f'{prefix}.weight': (c,), f'{prefix}.bias': (c,), f'{prefix}.running_mean': (c,),
            f'{prefix}.running_var': (c,), f'{prefix}.num_batches_tracked': ()}


def clipself_fvit_shapes(width=64, layers=4, patch=8, grid=4, embed=32, hidden=170, fpn=32,
                         conv=16, classes=4, anchors=3):
    """Key -> shape of CLIPSelf's F-ViT (EvaCLIPViT + FPN(norm) + RPNHead(2 convs) +
    FViTBBoxHead(4 convs, 2 FCs, 1 cls FC, 1 reg FC)) for a tiny EVA02 tower."""
    s = {'backbone.visual.cls_token': (1, 1, width),
         'backbone.visual.pos_embed': (1, grid * grid + 1, width),
         'backbone.visual.patch_embed.proj.weight': (width, 3, patch, patch),
         'backbone.visual.patch_embed.proj.bias': (width,),
         'backbone.visual.rope.freqs_cos': (grid * grid, 16),
         'backbone.visual.rope.freqs_sin': (grid * grid, 16),
         'backbone.visual.norm.weight': (width,), 'backbone.visual.norm.bias': (width,),
         'backbone.visual.head.weight': (embed, width), 'backbone.visual.head.bias': (embed,)}
    for i in range(layers):
        b = f'backbone.visual.blocks.{i}.'
        s.update({b + 'norm1.weight': (width,), b + 'norm1.bias': (width,),
                  b + 'norm2.weight': (width,), b + 'norm2.bias': (width,),
                  b + 'attn.q_proj.weight': (width, width), b + 'attn.k_proj.weight': (width, width),
                  b + 'attn.v_proj.weight': (width, width), b + 'attn.q_bias': (width,),
                  b + 'attn.v_bias': (width,), b + 'attn.inner_attn_ln.weight': (width,),
                  b + 'attn.inner_attn_ln.bias': (width,), b + 'attn.proj.weight': (width, width),
                  b + 'attn.proj.bias': (width,), b + 'attn.rope.freqs_cos': (grid * grid, 16),
                  b + 'attn.rope.freqs_sin': (grid * grid, 16),
                  b + 'mlp.w1.weight': (hidden, width), b + 'mlp.w1.bias': (hidden,),
                  b + 'mlp.w2.weight': (hidden, width), b + 'mlp.w2.bias': (hidden,),
                  b + 'mlp.ffn_ln.weight': (hidden,), b + 'mlp.ffn_ln.bias': (hidden,),
                  b + 'mlp.w3.weight': (width, hidden), b + 'mlp.w3.bias': (width,)})
    s.update({'backbone.interpolate1.0.weight': (width, width, 2, 2),
              'backbone.interpolate1.0.bias': (width,), **bn('backbone.interpolate1.1', width),
              'backbone.interpolate1.3.weight': (width, width, 2, 2),
              'backbone.interpolate1.3.bias': (width,),
              'backbone.interpolate2.0.weight': (width, width, 2, 2),
              'backbone.interpolate2.0.bias': (width,)})
    for i in range(4):
        s[f'neck.lateral_convs.{i}.conv.weight'] = (fpn, width, 1, 1)
        s.update(bn(f'neck.lateral_convs.{i}.bn', fpn))
        s[f'neck.fpn_convs.{i}.conv.weight'] = (fpn, fpn, 3, 3)
        s.update(bn(f'neck.fpn_convs.{i}.bn', fpn))
    for i in range(2):
        s[f'rpn_head.rpn_conv.{i}.conv.weight'] = (fpn, fpn, 3, 3)
        s[f'rpn_head.rpn_conv.{i}.conv.bias'] = (fpn,)
    s.update({'rpn_head.rpn_cls.weight': (anchors, fpn, 1, 1), 'rpn_head.rpn_cls.bias': (anchors,),
              'rpn_head.rpn_reg.weight': (anchors * 4, fpn, 1, 1),
              'rpn_head.rpn_reg.bias': (anchors * 4,)})
    h = 'roi_head.bbox_head.'
    for i in range(4):
        s[f'{h}shared_convs.{i}.conv.weight'] = (conv, fpn if i == 0 else conv, 3, 3)
        s.update(bn(f'{h}shared_convs.{i}.bn', conv))
    s.update({h + 'shared_fcs.0.weight': (embed, conv * 49), h + 'shared_fcs.0.bias': (embed,),
              h + 'shared_fcs.1.weight': (embed, embed), h + 'shared_fcs.1.bias': (embed,),
              h + 'cls_fcs.0.weight': (embed, embed), h + 'cls_fcs.0.bias': (embed,),
              h + 'reg_fcs.0.weight': (embed, embed), h + 'reg_fcs.0.bias': (embed,),
              h + 'fc_cls.weight': (classes + 1, embed), h + 'fc_cls.bias': (classes + 1,),
              h + 'fc_reg.weight': (4, embed), h + 'fc_reg.bias': (4,),
              h + 'detect_temperature': (), h + 'all_embeddings': (embed, classes + 1)})
    return s


def random_state(shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {k: (torch.randint(0, 9, s, generator=g) if k.endswith('num_batches_tracked')
                else torch.randn(s, generator=g)) for k, s in shapes.items()}


@pytest.fixture
def tiny_model(tmp_path):
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    from declip_mm.testing.fvit import tiny_fvit_cfg
    init_default_scope('mmdet')
    g = torch.Generator().manual_seed(1)
    table = {n: torch.randn(32, generator=g) for n in NAMES + ['background']}
    emb = str(tmp_path / 'tiny_with_background.pt')
    torch.save(table, emb)
    cfg = tiny_fvit_cfg(vocabulary=NAMES, text_encoder=None, class_embeddings=emb)
    cfg.neck[1].norm_cfg = dict(type='BN', requires_grad=True)  # F-ViT's FPN is normalised
    cfg.roi_head.bbox_head.update(region_embedding='cls_fc', num_cls_fcs=1, num_reg_fcs=1,
                                  fc_out_channels=32, conv_out_channels=16, background='text')
    return MODELS.build(cfg), table


def test_official_layout_converts_and_loads_strictly(tiny_model, tmp_path):
    from mmengine.runner.checkpoint import load_checkpoint

    from declip_mm.testing.scripts import load_script
    convert_checkpoint = load_script('tools/convert_checkpoint.py')
    model, table = tiny_model
    official = random_state(clipself_fvit_shapes())
    src, dst = str(tmp_path / 'fvit_clipself.pth'), str(tmp_path / 'fvit_declip.pth')
    torch.save({'meta': {'mmdet_version': '2.28.2'}, 'state_dict': official}, src)
    convert_checkpoint.main([src, dst, '--from', 'clipself-fvit'])
    load_checkpoint(model, dst, map_location='cpu', strict=True)  # what tools/test.py does
    sd = model.state_dict()
    # the same numbers in the new places
    assert torch.equal(sd['neck.0.adapters.0.1.running_var'],
                       official['backbone.interpolate1.1.running_var'])
    assert torch.equal(sd['neck.0.adapters.1.weight'], official['backbone.interpolate2.0.weight'])
    assert torch.equal(sd['neck.1.fpn_convs.2.conv.weight'],
                       official['neck.fpn_convs.2.conv.weight'])
    assert torch.equal(sd['roi_head.bbox_head.temperature'],
                       official['roi_head.bbox_head.detect_temperature'])
    assert torch.equal(sd['roi_head.bbox_head.cls_fcs.0.weight'],
                       official['roi_head.bbox_head.cls_fcs.0.weight'])
    assert torch.equal(sd['backbone.visual.trunk.blocks.2.mlp.fc2.weight'],
                       official['backbone.visual.blocks.2.mlp.w3.weight'])
    assert torch.equal(sd['backbone.visual.trunk.blocks.1.attn.q_proj.bias'],
                       official['backbone.visual.blocks.1.attn.q_bias'])


def test_wrong_size_is_one_line_naming_keys(tiny_model):
    from declip_mm.checkpoint.layouts.clipself_fvit import check_fits, convert_clipself_fvit
    model, _ = tiny_model
    large = convert_clipself_fvit(random_state(clipself_fvit_shapes(width=96, hidden=256)))
    with pytest.raises(CheckpointError) as err:
        check_fits(large, model.state_dict())
    msg = str(err.value)
    assert '\n' not in msg and 'wrong shape' in msg and 'backbone.visual.trunk' in msg
    assert '(96, 96, 2, 2) vs (64, 64, 2, 2)' in msg or '96' in msg


def test_other_detector_is_refused_naming_foreign_keys():
    from declip_mm.checkpoint.layouts.clipself_fvit import convert_clipself_fvit
    official = random_state(clipself_fvit_shapes())
    official['roi_head.bbox_head.fc_cls.weight'] = torch.zeros(3, 32)  # dropped, fine
    official['backbone.layer1.0.conv1.weight'] = torch.zeros(4, 4, 3, 3)
    with pytest.raises(CheckpointError, match=r'1 keys of another model, e.g. backbone\.layer1'):
        convert_clipself_fvit(official)
    faster_rcnn = {'backbone.conv1.weight': torch.zeros(1), 'neck.lateral_convs.0.conv.weight':
                   torch.zeros(1)}
    with pytest.raises(CheckpointError, match='no "backbone.visual." keys'):
        convert_clipself_fvit(faster_rcnn)
