"""Config mistakes of issue 19 reach the user as one ``error:`` line naming the config file and
the field (types, out-of-range indices, vocabulary files, the sections test.py uses), and a
model vocabulary that does not label the dataset's classes is refused.

Runs the tools' ``main`` in this process (``run``, ``train`` and the other fixtures are in
conftest.py).
"""
import torch

from declip_mm.utils.package_paths import repository_path

DET = repository_path('tests/configs/tiny_det.py')
OVSHAPES = repository_path('configs/ovshapes/fvit_tiny-declip_ovshapes.py')


def test_out_indices_of_the_wrong_type(train):
    msg = train('--cfg-options', 'model.backbone.out_indices=abc')
    assert msg == ("error: model.backbone: DeCLIPViT: out_indices must be a non-empty list of "
                   "block indices, got 'abc'")


def test_out_indices_beyond_the_depth(train):
    for bad in ('10', '99', '-9'):  # the tiny tower has 4 blocks
        msg = train('--cfg-options', f'model.backbone.out_indices=[1,{bad}]')
        assert msg == (f'error: model.backbone: DeCLIPViT: out_indices [{bad}] out of range '
                       'for 4 blocks (valid: -4 to 3)')


def test_learning_rate_that_is_not_a_number(train):
    msg = train('--cfg-options', 'optim_wrapper.optimizer.lr=fast')
    assert msg == f"error: {DET}: optim_wrapper.optimizer.lr must be a number, got 'fast'"


def test_vocabulary_of_the_wrong_type(train):
    msg = train('--cfg-options', 'model.vocabulary=5', config=OVSHAPES)
    assert msg == (f'error: {OVSHAPES}: model.vocabulary must be a class-names file, a '
                   'registered vocabulary name or a list of names, got 5')


def test_malformed_vocabulary_file_is_named(workspace, train):
    bad = workspace / 'bad_vocab.json'
    bad.write_text('["red box", "blue disc"')
    msg = train('--cfg-options', f'model.vocabulary={bad}', config=OVSHAPES)
    assert msg.startswith(f'error: model.vocabulary: vocabulary file {bad} is not valid JSON (')


def test_bad_annotation_file_under_test_is_the_test_loaders(run, workspace, one_error,
                                                            checkpoint_file):
    bad = workspace / 'bad_ann.json'
    bad.write_text('{"images": [')
    msg = one_error(run('test', DET, checkpoint_file('empty.pth'), '--non-strict',
                        '--work-dir', str(workspace / 'test'), '--cfg-options',
                        f'test_dataloader.dataset.ann_file={bad}')[0])
    assert msg.startswith('error: test_dataloader.dataset (CocoDataset): '), msg
    assert str(bad) in msg


def test_missing_test_evaluator_file_is_named(run, workspace, one_error, checkpoint_file):
    missing = str(workspace / 'nowhere.json')
    msg = one_error(run('test', DET, checkpoint_file('empty.pth'), '--non-strict',
                        '--work-dir', str(workspace / 'test'), '--cfg-options',
                        f'test_evaluator.ann_file={missing}')[0])
    assert msg == f'error: test_evaluator (CocoMetric): No such file or directory: {missing}'


def test_unreadable_checkpoint_refused_before_the_runner_log(run, workspace, one_error):
    bad = workspace / 'cut.pth'
    torch.save({'state_dict': {'w': torch.ones(1000)}}, str(bad))
    bad.write_bytes(bad.read_bytes()[:2000])
    for argv in (('test', DET, str(bad)), ('train', DET, '--resume', str(bad))):
        lines, out = run(*argv, '--work-dir', str(workspace / 'order'))
        assert one_error(lines).startswith(f'error: --resume: cannot read checkpoint {bad}') \
            or one_error(lines).startswith(f'error: cannot read checkpoint {bad}')
        assert 'Environment' not in out and 'Config:' not in out  # no runner log before it


def test_vocabulary_in_another_order_than_the_dataset(run, workspace, one_error, checkpoint_file,
                                                      training_free_config):
    cfg = training_free_config('reversed.py', "['blue disc', 'red box', 'background']")
    msg = one_error(run('test', cfg, checkpoint_file('empty.pth'), '--non-strict',
                        '--work-dir', str(workspace / 'test'))[0])
    assert msg == ("error: test_dataloader.dataset: the model vocabulary is in another order: "
                   "entry 0 is 'blue disc', the dataset's class 0 is 'background' ('blue disc' "
                   'is its class 2); fix the model vocabulary or the dataset classes, or set '
                   'allow_mismatch=True on DeCLIPVocabularyCheckHook if this is intended')


def test_vocabulary_count_mismatch_unless_intended(run, workspace, one_error, checkpoint_file,
                                                   training_free_config):
    cfg = training_free_config('short.py', "['background', 'red box']")
    ckpt = checkpoint_file('empty.pth')
    msg = one_error(run('test', cfg, ckpt, '--non-strict', '--work-dir',
                        str(workspace / 'test'))[0])
    assert msg.startswith('error: test_dataloader.dataset: the model vocabulary has 2 entries, '
                          'the dataset 3 classes; ')
    # said to be intended (here: the reversed order), the check steps aside and the run ends
    cfg = training_free_config('reversed.py', "['blue disc', 'red box', 'background']")
    lines, out = run('test', cfg, ckpt, '--non-strict', '--work-dir', str(workspace / 'test'),
                     '--cfg-options', 'custom_hooks.1.allow_mismatch=True', status=0)
    assert not any('model vocabulary' in line for line in lines) and 'mIoU' in out
