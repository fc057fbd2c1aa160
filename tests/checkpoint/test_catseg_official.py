"""The official DeCLIP CAT-Seg (detectron2) checkpoint -> ``DeCLIPCATSeg``: key table, bad
input, and end-to-end parity with the official model on the fixture written by
``tools/dev/check_catseg_parity.py --write-fixture`` (the official model's outputs for the tiny
case; weights are rebuilt from the official parameter names with ``seeded_tensor``)."""
import importlib.util
import os
import subprocess
import sys

import pytest
import torch

from declip_mm.checkpoint.layouts import catseg_official as layout
from declip_mm.checkpoint.mismatch import mismatch_summary
from declip_mm.testing import seeded_image, seeded_tensor
from declip_mm.utils.errors import CheckpointError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data',
                       'catseg_official_tiny.pt')
AGG, CLIP = layout.AGG_PREFIX, layout.CLIP_PREFIX


def _harness():
    path = os.path.join(ROOT, 'tools', 'dev', 'check_catseg_parity.py')
    spec = importlib.util.spec_from_file_location('_check_catseg_parity', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def fixture():
    return torch.load(FIXTURE, map_location='cpu', weights_only=True)


def official_state_dict(fix) -> dict:
    """The official model's state dict: seeded parameters, zero buffers (they are dropped)."""
    sd = {k: seeded_tensor(k, s, fix['case']['seed']) for k, s in fix['shapes'].items()}
    sd.update({k: torch.zeros(s) for k, s in fix['buffers'].items()})
    return sd


@pytest.fixture(scope='module')
def model(fixture):
    torch.manual_seed(0)
    return _harness().our_model(dict(fixture['case']), fixture['case']['clip'])


def test_round_trip_names_shapes_values(fixture, model):
    sd = official_state_dict(fixture)
    out = layout.convert(sd, expected=64)
    assert mismatch_summary(model.state_dict(), out) is None  # no missing / unexpected / shape
    # every kept official tensor lands under exactly one name, unchanged
    kept = [k for k in sd if not layout.DROPPED.search(k) and '.rope.' not in k]
    assert len(out) == len(kept)
    assert {id(v) for v in out.values()} == {id(sd[k]) for k in kept}
    pairs = {
        AGG + 'layers.1.attention.padding_tokens': 'neck.layers.1.classes.pad_token',
        AGG + 'layers.0.swin_block.block_2.attn.q.weight':
            'neck.layers.0.spatial.blocks.1.attn.q.weight',
        AGG + 'layers.0.attention.MLP.2.bias': 'neck.layers.0.classes.mlp.2.bias',
        AGG + 'decoder2.conv.double_conv.4.bias': 'decode_head.ups.1.convs.1.gn.bias',
        AGG + 'decoder_guidance_projection.1.0.weight': 'decode_head.guidance_proj.1.conv.weight',
        AGG + 'head.weight': 'decode_head.conv_seg.weight',
        'upsample2.weight': 'decode_head.guidance_up.1.weight',
        CLIP + 'visual.blocks.3.attn.q_bias': 'backbone.visual.trunk.blocks.3.attn.q_proj.bias',
        CLIP + 'text.transformer.resblocks.1.attn.in_proj_weight':
            'text_encoder.text.transformer.resblocks.1.attn.in_proj_weight',
    }
    for official, ours in pairs.items():
        assert out[ours] is sd[official]


def test_tools_test_loader_is_strict_clean(fixture, model, tmp_path):
    """What tools/test.py does (mmengine ``load_checkpoint``, strict) on the converted file."""
    from mmengine.runner import load_checkpoint
    path = str(tmp_path / 'converted.pth')
    torch.save(dict(state_dict=layout.convert(official_state_dict(fixture), 64), meta={}), path)
    load_checkpoint(model, path, map_location='cpu', strict=True, logger='silent')


def test_end_to_end_parity_with_official_outputs(fixture, model, tmp_path):
    """Logits at 384^2 and sliding-window scores match the official model within 1e-4."""
    harness = _harness()
    sd = layout.convert(official_state_dict(fixture), 64)
    model.load_state_dict(sd, strict=True)
    seed = fixture['case']['seed']
    ours = harness.our_outputs(model, seeded_image(seed + 1, (384, 384)),
                               seeded_image(seed + 2, fixture['case']['slide_size']))
    ref_logits, ref_slide = fixture['logits384'], fixture['slide']
    assert ref_logits.std() > 0.1 and ref_slide.std() > 0.01  # not a constant reference
    assert (ours['logits384'][..., ::2, ::2] - ref_logits).abs().max() < 1e-4
    assert (ours['slide'][:, ::3, ::3] - ref_slide).abs().max() < 1e-4
    # and a wrong weight is seen: the comparison is sensitive
    weight = model.neck.cost_embed.weight  # one cost-embedding channel of every class
    with torch.no_grad():
        weight[0] *= 3
        changed = harness.our_outputs(model, seeded_image(seed + 1, (384, 384)), None)
        weight[0] /= 3
    assert (changed['logits384'][..., ::2, ::2] - ref_logits).abs().max() > 1e-3


@pytest.mark.parametrize('sd, found', [
    ({AGG + 'conv1.weight': torch.zeros(128, 1, 7, 7),
      CLIP + 'visual.blocks.0.attn.q_bias': torch.zeros(1024),
      CLIP + 'visual.patch_embed.proj.weight': torch.zeros(1024, 3, 14, 14)},
     'another backbone size: found EVA02-CLIP-L-14-336 (vision width 1024)'),
    ({'backbone.bottom_up.stem.conv1.weight': torch.zeros(64, 3, 7, 7),
      'roi_heads.box_predictor.cls_score.weight': torch.zeros(81, 1024)},
     "detectron2 checkpoint of another model (top-level modules: ['backbone', 'roi_heads'])"),
    ({'visual.blocks.0.attn.q_bias': torch.zeros(768), 'text.positional_embedding':
      torch.zeros(77, 512)}, 'bare EVA-CLIP / DeCLIP CLIP checkpoint'),
    ({AGG + 'conv1.weight': torch.zeros(128, 1, 7, 7),
      CLIP + 'visual.transformer.resblocks.0.attn.in_proj_weight': torch.zeros(2304, 768)},
     'OpenAI-CLIP CAT-Seg'),
])
def test_bad_input_is_one_line_naming_what_was_found(sd, found):
    with pytest.raises(CheckpointError) as err:
        layout.convert(sd, source='release.pth')
    msg = str(err.value)
    assert found in msg and msg.startswith('release.pth: ') and '\n' not in msg


def test_unknown_catseg_key_is_named(fixture):
    sd = official_state_dict(fixture)
    sd[AGG + 'layers.0.attention.extra_gate.weight'] = torch.zeros(3)
    with pytest.raises(CheckpointError, match='1 CAT-Seg keys have no declip_mm counterpart'):
        layout.convert(sd, expected=None)


def _run(*args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE='1', OMP_NUM_THREADS='2')
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_convert_cli_then_tools_test_loads_strictly(fixture, tmp_path):
    """``convert_checkpoint.py --catseg-official`` output evaluates with ``tools/test.py`` (which
    refuses missing / unexpected keys) on the tiny CAT-Seg config."""
    from declip_mm.testing import make_tiny_seg
    official = str(tmp_path / 'official.pth')
    torch.save(dict(model=official_state_dict(fixture), iteration=0), official)
    out = str(tmp_path / 'converted.pth')
    proc = _run(os.path.join(ROOT, 'tools', 'convert_checkpoint.py'), official, out,
                '--catseg-official', '--arch', '{"vision_cfg": {"width": 64}}', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    make_tiny_seg(str(tmp_path / 'data' / 'tiny_seg'), num_images=2)
    proc = _run(os.path.join(ROOT, 'tools', 'test.py'),
                os.path.join(ROOT, 'tests', 'configs', 'tiny_catseg.py'), out,
                '--work-dir', str(tmp_path / 'work'), cwd=tmp_path)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'mIoU' in log and 'does not fit' not in log  # strict load: a mismatch exits 1


def test_convert_cli_bad_input_one_line(tmp_path):
    path = str(tmp_path / 'EVA02_CLIP_B_psz16_s8B.pt')
    torch.save({'visual.blocks.0.attn.q_bias': torch.zeros(768),
                'text.positional_embedding': torch.zeros(77, 512)}, path)
    proc = _run(os.path.join(ROOT, 'tools', 'convert_checkpoint.py'), path,
                str(tmp_path / 'out.pth'), '--catseg-official', cwd=tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert lines[0].startswith('error: ') and path in lines[0] and 'bare EVA-CLIP' in lines[0]


@pytest.mark.parametrize('name', ['catseg_declip-eva02-b16_4xb1-80k_coco-stuff171-384x384.py',
                                  'catseg_declip-eva02-l14-336_4xb1-80k_coco-stuff171-384x384.py',
                                  'catseg_declip-eva02-b16_eval_ade150.py'])
def test_configs_normalise_with_catseg_clip_mean_std(name):
    """CAT-Seg's CLIP_PIXEL_MEAN / STD unrounded: the 3-decimal values gave a 3.2e-5 logit
    difference to the official model in the parity harness (2.2e-6 after)."""
    from mmengine.config import Config
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'segmentation', 'catseg', name))
    pre = cfg.model.data_preprocessor
    assert pre.mean == [122.7709383, 116.7460125, 104.09373615]
    assert pre.std == [68.5005327, 66.6321579, 70.3231630]
