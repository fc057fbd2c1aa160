"""Bad input reaches the user of tools/train.py and tools/test.py as one ``error:`` line naming
the file or the config field, exit status 1, no traceback.

The tools' ``main`` runs in this process (through ``run_main``, exactly as the command line does;
the ``run``, ``train`` and other fixtures are in conftest.py) so the cases share one start-up;
``test_cli_prints_one_line`` checks the real command line.
"""
import os
import subprocess
import sys

import pytest
import torch

from declip_mm.utils.package_paths import repository_path

DET = repository_path('tests/configs/tiny_det.py')
SEG = repository_path('tests/configs/tiny_seg.py')
TOOLS = repository_path('tools')

SMALL_IMAGES = """
_base_ = '{base}'
pipeline_train = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                  dict(type='Resize', scale=(6, 6), keep_ratio=False), dict(type='PackSegInputs')]
model = dict(data_preprocessor=dict(size=(6, 6), size_divisor=None))
train_dataloader = dict(dataset=dict(pipeline=pipeline_train))
"""


def test_unknown_mode(train):
    msg = train('--cfg-options', 'model.backbone.mode=bogus')
    assert msg.startswith('error: model.backbone') and "unknown mode 'bogus'" in msg


def test_unknown_arch(train):
    msg = train('--cfg-options', 'model.backbone.arch=NoSuchArch')
    assert msg.startswith('error: model.backbone') and "unknown arch 'NoSuchArch'" in msg


def test_unknown_model_key(train):
    msg = train('--cfg-options', 'model.backbone.modee=csa')
    assert msg == "error: model.backbone: unknown key 'modee' for DeCLIPViT (did you mean 'mode'?)"


def test_unknown_top_level_key(train):
    msg = train('--cfg-options', 'train_cfgg.max_epochs=3')
    assert msg.startswith("error: unknown top-level config key 'train_cfgg' (did you mean "
                          "'train_cfg'?)")


def test_unknown_dataloader_key(train):
    msg = train('--cfg-options', 'train_dataloader.batchsize=2')
    assert msg == "error: train_dataloader: unknown key 'batchsize' (did you mean 'batch_size'?)"


def test_unregistered_type(train):
    msg = train('--cfg-options', 'model.backbone.type=DeCLIPVit')
    assert msg.startswith("error: model.backbone.type: 'DeCLIPVit' is not a registered type")


def test_missing_dataset_root(train):
    msg = train('--cfg-options', 'train_dataloader.dataset.data_root=nowhere/')
    assert msg.startswith('error: train_dataloader.dataset.data_root: dataset folder nowhere/ '
                          'does not exist')


def test_missing_config(run, workspace, one_error):
    msg = one_error(run('train', str(workspace / 'nope.py'))[0])
    assert msg == f'error: config file not found: {workspace / "nope.py"}'


def test_image_smaller_than_a_patch(workspace, train):
    cfg = workspace / 'small_images.py'
    cfg.write_text(SMALL_IMAGES.format(base=SEG))
    msg = train(config=str(cfg))
    assert 'DeCLIPViT: image (6, 6) is smaller than one' in msg
    assert '(batch: data/tiny_seg/img_dir/' in msg  # the images of the failing batch


@pytest.fixture
def corrupt_image(workspace):
    path = workspace / 'data' / 'tiny_coco' / 'images' / '0001.png'
    good = path.read_bytes()
    path.write_bytes(good[:len(good) // 2])  # a truncated PNG
    yield path
    path.write_bytes(good)


def test_corrupt_image_stops_with_its_name(corrupt_image, train):
    msg = train()
    assert msg == ('error: corrupt or unreadable image data/tiny_coco/images/0001.png: it '
                   'cannot be decoded as an image')


def test_corrupt_image_skipped_with_warning_when_asked(run, workspace, corrupt_image):
    lines, out = run('train', DET, '--work-dir', str(workspace / 'skip'), '--skip-bad-images',
                     '--cfg-options', 'val_dataloader=None', 'val_cfg=None', 'val_evaluator=None',
                     status=0)
    warnings = [line for line in out.splitlines() if 'corrupt or unreadable image' in line]
    assert warnings and 'data/tiny_coco/images/0001.png' in warnings[0] and 'skipped' in warnings[0]
    assert (workspace / 'skip' / 'epoch_1.pth').is_file()


def test_checkpoint_with_wrong_keys(run, workspace, one_error, checkpoint_file):
    ckpt = checkpoint_file('wrong.pth', {'state_dict': {'foo.weight': torch.ones(1)}})
    msg = one_error(run('test', DET, ckpt, '--work-dir', str(workspace / 'test'))[0])
    assert msg.startswith(f'error: {ckpt} does not fit this FasterRCNN: ')
    assert '; 1 unexpected: foo.weight' in msg and ' missing: backbone.' in msg


def test_backbone_checkpoint_that_does_not_fit(train, checkpoint_file):
    ckpt = checkpoint_file('clip.pth', {'state_dict': {'visual.foo': torch.ones(1)}})
    msg = train('--cfg-options', 'model.backbone.init_cfg.type=Pretrained',
                f'model.backbone.init_cfg.checkpoint={ckpt}')
    assert msg.startswith(f'error: {ckpt} does not fit DeCLIPViT(')
    assert 'missing' in msg and '1 unexpected: visual.foo' in msg


def test_truncated_checkpoint(run, workspace, one_error, checkpoint_file):
    good = checkpoint_file('good.pth', {'state_dict': {'w': torch.ones(1000)}})
    bad = str(workspace / 'truncated.pth')
    with open(good, 'rb') as f, open(bad, 'wb') as g:
        g.write(f.read()[:2000])
    msg = one_error(run('test', DET, bad, '--work-dir', str(workspace / 'test'))[0])
    assert msg.startswith(f'error: cannot read checkpoint {bad}: ')


def test_resume_from_weights_only_file(train, checkpoint_file):
    ckpt = checkpoint_file('weights.pth', {'state_dict': {'w': torch.ones(1)}})
    msg = train('--resume', ckpt)
    assert msg == (f'error: {ckpt} is not a training checkpoint (no meta / message_hub / '
                   'state_dict); give weights-only files as load_from, not --resume')


def test_empty_vocabulary(run, workspace, one_error, checkpoint_file, training_free_config):
    cfg = training_free_config('empty_vocab.py', '[]')
    ckpt = checkpoint_file('empty.pth', {'state_dict': {}})
    msg = one_error(run('test', cfg, ckpt, '--work-dir', str(workspace / 'test'))[0])
    assert msg.startswith('error: model: class names must be a non-empty list')


def test_duplicated_vocabulary(run, workspace, one_error, checkpoint_file, training_free_config):
    cfg = training_free_config('dup_vocab.py', "['red box', 'blue disc', 'red box']")
    ckpt = checkpoint_file('empty.pth', {'state_dict': {}})
    msg = one_error(run('test', cfg, ckpt, '--non-strict',
                        '--work-dir', str(workspace / 'test'))[0])
    assert msg == "error: vocabulary has duplicated class names: ['red box']"


def test_cli_prints_one_line(workspace, tool_env):
    """The real command line: stderr ends with the one error line, exit status 1."""
    proc = subprocess.run([sys.executable, os.path.join(TOOLS, 'train.py'), DET, '--cfg-options',
                           'model.backbone.mode=bogus'], cwd=str(workspace), env=tool_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith('error: model.backbone')
