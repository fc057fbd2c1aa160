"""VFM context teachers: tiny timm builds, token maps, and loading official-format checkpoints."""
import pytest
import torch

from declip_mm.models.distillers.vfm_teachers import (DeCLIPDINOTeacher, DeCLIPDINOv2Teacher,
                                                      DeCLIPSAMTeacher)
from declip_mm.registry import MODELS
from declip_mm.utils.errors import CheckpointError, ConfigError

TINY_VIT = dict(embed_dim=32, depth=2, num_heads=2)
TINY_SAM = dict(embed_dim=32, depth=2, num_heads=2, global_attn_indexes=(1,), window_size=4,
                img_size=64, neck_chans=16)


def perturb(model):
    """Give every parameter non-trivial values (timm inits layer scales to 1e-5, biases to 0)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model


def dinov2_official(teacher):
    """A torch.hub DINOv2-with-registers state dict from a timm model (timm's filter, inverted)."""
    sd = {k: v.clone() for k, v in teacher.model.state_dict().items()}
    pos_cls = torch.randn(1, 1, sd['cls_token'].shape[-1])
    sd['cls_token'] = sd['cls_token'] - pos_cls
    sd['pos_embed'] = torch.cat([pos_cls, sd['pos_embed']], 1)
    sd['register_tokens'] = sd.pop('reg_token')
    sd['mask_token'] = torch.zeros(1, sd['cls_token'].shape[-1])
    return sd


def test_dinov2_tokens_drop_cls_and_registers():
    t = perturb(DeCLIPDINOv2Teacher('vitb14_reg', arch_overrides=dict(TINY_VIT, img_size=56)))
    assert t.patch_size == 14 and t.out_channels == 32
    assert t.model.num_prefix_tokens == 5
    x = torch.randn(2, 3, 70, 84)
    out = t(x)
    assert out.shape == (2, 32, 5, 6) and out.dtype == torch.float32
    ref = t.model.forward_features(x)[:, 5:]
    assert torch.allclose(out.flatten(2).transpose(1, 2), ref, atol=1e-6)
    # inputs that are not multiples of the patch are padded bottom / right
    assert t(torch.randn(1, 3, 60, 71)).shape == (1, 32, 5, 6)
    assert not any(p.requires_grad for p in t.parameters())
    t.train()
    assert not t.training and not t.model.training


def test_dinov2_official_checkpoint_round_trip(tmp_path):
    src = perturb(DeCLIPDINOv2Teacher('vitb14_reg', arch_overrides=dict(TINY_VIT, img_size=56)))
    path = str(tmp_path / 'dinov2_vitb14_reg4_pretrain.pth')
    torch.save(dinov2_official(src), path)
    dst = MODELS.build(dict(type='DeCLIPDINOv2Teacher', arch='vitb14_reg', checkpoint=path,
                            arch_overrides=dict(TINY_VIT, img_size=56)))
    x = torch.randn(1, 3, 56, 70)
    assert not torch.allclose(dst(x), src(x))
    dst.init_weights()
    assert torch.allclose(dst(x), src(x), atol=1e-5)


def test_dino_checkpoints_plain_and_training_format(tmp_path):
    src = perturb(DeCLIPDINOTeacher('vitb16', arch_overrides=dict(TINY_VIT, img_size=32)))
    assert src.patch_size == 16
    x = torch.randn(2, 3, 48, 64)
    assert src(x).shape == (2, 32, 3, 4)
    plain = str(tmp_path / 'dino_vitbase16_pretrain.pth')
    torch.save(src.model.state_dict(), plain)
    full = str(tmp_path / 'checkpoint.pth')
    torch.save(dict(teacher={**{f'backbone.{k}': v for k, v in src.model.state_dict().items()},
                             'head.mlp.0.weight': torch.zeros(4, 32)}, epoch=3), full)
    for path in (plain, full):
        dst = DeCLIPDINOTeacher('vitb16', checkpoint=path,
                                arch_overrides=dict(TINY_VIT, img_size=32))
        dst.init_weights()
        assert torch.allclose(dst(x), src(x), atol=1e-5)
    b8 = DeCLIPDINOTeacher('vitb8', arch_overrides=dict(TINY_VIT, img_size=32))
    assert b8(torch.randn(1, 3, 32, 40)).shape == (1, 32, 4, 5)


def test_sam_official_checkpoint_round_trip(tmp_path):
    src = perturb(DeCLIPSAMTeacher('vitb', arch_overrides=TINY_SAM))
    assert src.patch_size == 16
    x = torch.randn(1, 3, 80, 96)
    out = src(x)
    assert out.shape == (1, 16, 5, 6)
    sd = {'image_encoder.' + k.replace('mlp.fc', 'mlp.lin'): v
          for k, v in src.model.state_dict().items()}
    sd['prompt_encoder.pe_layer.positional_encoding_gaussian_matrix'] = torch.zeros(2, 4)
    sd['mask_decoder.iou_token.weight'] = torch.zeros(1, 4)
    path = str(tmp_path / 'sam_vit_b_01ec64.pth')
    torch.save(sd, path)
    dst = DeCLIPSAMTeacher('vitb', checkpoint=path, arch_overrides=TINY_SAM)
    dst.init_weights()
    assert torch.allclose(dst(x), out, atol=1e-5)


def test_checkpoint_and_arch_errors(tmp_path):
    dino = DeCLIPDINOTeacher('vitb16', arch_overrides=dict(TINY_VIT, img_size=32))
    path = str(tmp_path / 'dino.pth')
    torch.save(dino.model.state_dict(), path)
    with pytest.raises(CheckpointError, match='not a DINOv2'):
        DeCLIPDINOv2Teacher('vitb14', checkpoint=path, arch_overrides=TINY_VIT).init_weights()
    with pytest.raises(CheckpointError, match='not a SAM'):
        DeCLIPSAMTeacher('vitb', checkpoint=path, arch_overrides=TINY_SAM).init_weights()
    wide = DeCLIPDINOTeacher('vitb16', checkpoint=path,
                             arch_overrides=dict(embed_dim=48, depth=2, num_heads=2, img_size=32))
    with pytest.raises(CheckpointError, match='wrong shape'):
        wide.init_weights()
    with pytest.raises(ConfigError, match='unknown arch'):
        DeCLIPDINOv2Teacher('vitg14')


def test_no_checkpoint_keeps_random_weights_and_runs_without_download():
    t = DeCLIPDINOv2Teacher('vitb14_reg', arch_overrides=dict(TINY_VIT, img_size=28))
    before = {k: v.clone() for k, v in t.state_dict().items()}
    t.init_weights()
    assert all(torch.equal(before[k], v) for k, v in t.state_dict().items())
