"""Export (declip_mm.checkpoint.export, tools/convert_checkpoint.py): open_clip loads what we
write strictly and computes the same embeddings; the official EVA-CLIP / DeCLIP layout round-trips
exactly."""
import json
import math

import pytest
import torch

from declip_mm.models.backbones import DeCLIPViT
from declip_mm.testing.checkpoints import (convert_tool, open_clip_model, random_text_encoder,
                                           random_tower, to_eva_clip)


@pytest.mark.parametrize('arch_name,layout', [('tiny_vit', 'official'), ('tiny_vit', 'detector'),
                                              ('tiny_eva', 'official'), ('tiny_eva', 'detector')])
def test_convert_loads_strictly_in_open_clip(request, tmp_path, arch_name, layout):
    import open_clip
    arch = request.getfixturevalue(arch_name)
    eva = arch_name == 'tiny_eva'
    vis, txt = random_tower(arch), random_text_encoder(arch, seed=1)
    text_sd = txt.text.state_dict()
    if layout == 'official':   # DeCLIP epoch_N.pt: EVA-CLIP names (EVA) / open_clip names (OpenAI)
        visual = to_eva_clip(vis.state_dict()) if eva else vis.state_dict()
        text = {('text.' if eva else '') + k: v for k, v in text_sd.items()}
        obj = {'epoch': 6, 'state_dict': {**visual, **text, 'logit_scale': torch.tensor(2.5)}}
    else:                      # declip_mm detector: backbone + text encoder submodules
        sd = {**{'backbone.' + k: v for k, v in vis.state_dict().items()},
              **{'text_encoder.text.' + k: v for k, v in text_sd.items()},
              'roi_head.bbox_head.fc_reg.weight': torch.zeros(4, 8)}
        obj = {'meta': {}, 'state_dict': sd}
    torch.save(obj, tmp_path / 'in.pt')
    name = f'declip-mm-test-{arch_name}-{layout}'
    cfg_path = open_clip_model(arch, tmp_path, name, eva)
    tool = convert_tool()
    tool.main([str(tmp_path / 'in.pt'), str(tmp_path / 'out.pt'), '--arch', str(cfg_path)
               if not eva else json.dumps(arch)])
    out = torch.load(tmp_path / 'out.pt', weights_only=True)
    assert any(k.startswith('visual.trunk.' if eva else 'visual.conv1') for k in out)
    assert ('text.token_embedding.weight' in out) == eva
    assert ('token_embedding.weight' in out) != eva
    assert torch.equal(out['logit_scale'], torch.tensor(2.5 if layout == 'official'
                                                        else math.log(1 / 0.07)))
    model = open_clip.create_model(name, pretrained=str(tmp_path / 'out.pt')).eval()  # strict
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model.encode_image(x, normalize=True), vis.encode_image(x), atol=1e-5)
        tokens = open_clip.get_tokenizer(name)(['a photo of a cat.'])
        assert torch.allclose(model.encode_text(tokens, normalize=True),
                              txt.encode_text(['a photo of a cat.']), atol=1e-5)


def test_convert_vision_only_and_errors(tiny_eva, tiny_vit, tmp_path):
    from declip_mm.utils.errors import CheckpointError
    tool = convert_tool()
    vis = random_tower(tiny_vit)
    torch.save({'state_dict': {'backbone.' + k: v for k, v in vis.state_dict().items()}},
               tmp_path / 'in.pt')
    tool.main([str(tmp_path / 'in.pt'), str(tmp_path / 'out.pt')])
    out = torch.load(tmp_path / 'out.pt', weights_only=True)
    assert set(out) == set(vis.state_dict())                      # image tower only
    from open_clip.model import CLIP
    clip = CLIP(tiny_vit['embed_dim'], tiny_vit['vision_cfg'], tiny_vit['text_cfg'],
                quick_gelu=True)
    clip.visual.load_state_dict({k[len('visual.'):]: v for k, v in out.items()}, strict=True)
    with pytest.raises(CheckpointError, match='holds an openai image tower'):
        tool.main([str(tmp_path / 'in.pt'), str(tmp_path / 'x.pt'), '--arch', json.dumps(tiny_eva)])
    wide = dict(tiny_vit, vision_cfg=dict(tiny_vit['vision_cfg'], width=96))
    with pytest.raises(CheckpointError, match='wrong shape'):
        tool.main([str(tmp_path / 'in.pt'), str(tmp_path / 'x.pt'), '--arch', json.dumps(wide)])
    torch.save({'text.ln_final.weight': torch.ones(2)}, tmp_path / 'text.pt')
    with pytest.raises(CheckpointError, match='no image-tower weights'):
        tool.main([str(tmp_path / 'text.pt'), str(tmp_path / 'x.pt')])
    assert not (tmp_path / 'x.pt').exists()


def test_eva02_b16_layout_equals_open_clip(tmp_path):
    """Full size, on the meta device: open_clip's EVA02-B-16 holds exactly our keys and shapes."""
    import open_clip
    from declip_mm.models.text import DeCLIPTextEncoder
    with torch.device('meta'):
        theirs = open_clip.create_model('EVA02-B-16', pretrained=None, device='meta').state_dict()
        vis = DeCLIPViT('EVA02-CLIP-B-16').state_dict()
        txt = DeCLIPTextEncoder('EVA02-CLIP-B-16').text.state_dict()
    ours = {**vis, **{'text.' + k: v for k, v in txt.items()}, 'logit_scale': torch.empty(())}
    shapes = lambda sd: {k: tuple(v.shape) for k, v in sd.items()}  # noqa: E731
    assert shapes(ours) == shapes(theirs)


# ----------------------------------------------------------------- official EVA-CLIP / DeCLIP layout
def official_state_dict(arch):
    """A DeCLIP ``epoch_N.pt`` state dict of a tiny model: EVA-CLIP names, RoPE buffers at the
    tower and in every block (as timm's rotary table gives them), ``text.*``, ``logit_scale``."""
    from timm.layers import RotaryEmbeddingCat
    v = arch['vision_cfg']
    vis, txt = random_tower(arch, seed=3), random_text_encoder(arch, seed=4)
    sd = to_eva_clip(vis.state_dict())
    rope = RotaryEmbeddingCat(v['head_width'], in_pixels=False,
                              feat_shape=[v['image_size'] // v['patch_size']] * 2,
                              ref_feat_shape=(v['pt_hw_seq_len'],) * 2)
    sin, cos = rope.get_embed().chunk(2, dim=-1)
    for where in ['visual.rope.'] + [f'visual.blocks.{i}.attn.rope.' for i in range(v['layers'])]:
        sd[where + 'freqs_cos'], sd[where + 'freqs_sin'] = cos.clone(), sin.clone()
    sd.update({'text.' + k: t for k, t in txt.text.state_dict().items()})
    sd['logit_scale'] = torch.tensor(4.25)
    return sd


def assert_same(out, ref):
    assert sorted(out) == sorted(ref)
    for k in ref:
        assert out[k].dtype == ref[k].dtype and out[k].shape == ref[k].shape, k
        if '.rope.' in k:
            assert torch.allclose(out[k], ref[k], atol=1e-6), k
        else:
            assert torch.equal(out[k], ref[k]), k


def test_official_layout_round_trip(tiny_eva, tmp_path):
    """official layout -> declip_mm (DeCLIPViT + DeCLIPTextEncoder, strictly) -> official layout:
    the same tensors under the same names."""
    from declip_mm.checkpoint.export import to_official
    from declip_mm.models.text import DeCLIPTextEncoder
    arch = dict(tiny_eva, vision_cfg=dict(tiny_eva['vision_cfg'], image_size=48))  # 6x6 on 4x4
    ref = official_state_dict(arch)
    torch.save({'epoch': 6, 'name': 'declip', 'state_dict': {'module.' + k: t
                                                             for k, t in ref.items()}},
               tmp_path / 'epoch_6.pt')
    init = dict(type='Pretrained', checkpoint=str(tmp_path / 'epoch_6.pt'))
    vit = DeCLIPViT(arch, init_cfg=init)
    vit.init_weights()
    text = DeCLIPTextEncoder(arch, init_cfg=init)
    text.init_weights()
    ours = {**vit.state_dict(), **{'text_encoder.text.' + k: t
                                   for k, t in text.text.state_dict().items()},
            'logit_scale': ref['logit_scale']}
    assert_same(to_official(ours, arch), ref)
    # the tool: a segmentor-style file, --arch given
    torch.save({'meta': {}, 'state_dict': {'backbone.' + k: t for k, t in ours.items()
                                           if k.startswith('visual.')} |
                {k: t for k, t in ours.items() if not k.startswith('visual.')}},
               tmp_path / 'seg.pth')
    convert_tool().main([str(tmp_path / 'seg.pth'), str(tmp_path / 'official.pt'),
                         '--layout', 'official', '--arch', json.dumps(arch)])
    assert_same(torch.load(tmp_path / 'official.pt', weights_only=True), ref)


def test_official_export_of_an_ensembled_backbone_uses_its_recorded_arch(tiny_eva, tmp_path,
                                                                         capsys):
    """``DeCLIPEnsembleCheckpointHook`` files record ``meta.arch``: the RoPE buffers follow it
    without ``--arch`` (a 4x4 grid for the tiny tower, not the EVA02 default of 16)."""
    vis = random_tower(tiny_eva)
    torch.save({'state_dict': vis.state_dict(), 'meta': {'arch': tiny_eva, 'alpha': 0.9}},
               tmp_path / 'declip_backbone_epoch_1.pth')
    convert_tool().main([str(tmp_path / 'declip_backbone_epoch_1.pth'), str(tmp_path / 'o.pt'),
                         '--layout', 'official'])
    out = torch.load(tmp_path / 'o.pt', weights_only=True)
    assert out['visual.rope.freqs_cos'].shape == (16, 16)
    assert torch.equal(out['visual.blocks.2.attn.q_bias'],
                       vis.state_dict()['visual.trunk.blocks.2.attn.q_proj.bias'])
    assert 'logit_scale' not in out      # no text tower in the file
    assert 'image-tower tensors (eva), 0 text-tower tensors' in capsys.readouterr().out


def test_detector_checkpoint_text_tower_is_exported(tiny_vit, tmp_path, capsys):
    """A DeCLIPFViT checkpoint keeps its text tower under ``vocabulary.text_encoder.text.*``."""
    vis, txt = random_tower(tiny_vit), random_text_encoder(tiny_vit, seed=1)
    sd = {**{'backbone.' + k: v for k, v in vis.state_dict().items()},
          **{'vocabulary.text_encoder.text.' + k: v for k, v in txt.text.state_dict().items()},
          'roi_head.bbox_head.fc_reg.weight': torch.zeros(4, 8)}
    torch.save({'meta': {}, 'state_dict': sd}, tmp_path / 'fvit.pth')
    convert_tool().main([str(tmp_path / 'fvit.pth'), str(tmp_path / 'out.pt')])
    out = torch.load(tmp_path / 'out.pt', weights_only=True)
    n_text = len(txt.text.state_dict())
    assert f'{n_text} text-tower tensors' in capsys.readouterr().out and n_text > 0
    assert torch.equal(out['token_embedding.weight'], txt.text.token_embedding.weight)
