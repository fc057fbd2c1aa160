"""Fixtures of the tool-error tests: a workspace with tiny datasets, ``run`` calling a tool's
``main`` in this process through ``run_main`` (as the command line does), ``one_error`` and
``train`` (``tools/train.py`` on the tiny detector config, its one error line)."""
import logging
import sys

import pytest

from declip_mm.testing import make_tiny_coco, make_tiny_seg
from declip_mm.testing.scripts import load_script
from declip_mm.utils.package_paths import repository_path

TINY_DET = repository_path('tests/configs/tiny_det.py')
TINY_SEG = repository_path('tests/configs/tiny_seg.py')

TRAINING_FREE = """
_base_ = '{base}'
from declip_mm.testing import TINY_EVA
model = dict(_delete_=True, type='DeCLIPTrainingFreeSegmentor',
             backbone=dict(type='DeCLIPViT', arch=TINY_EVA),
             text_encoder=dict(type='DeCLIPTextEncoder', arch=TINY_EVA),
             class_names={names}, slide_crop=0)
"""


def _load_tool(name: str):
    return load_script(f'tools/{name}.py')


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp('bad_input')
    make_tiny_coco(str(root / 'data' / 'tiny_coco'), num_images=4)
    make_tiny_seg(str(root / 'data' / 'tiny_seg'), num_images=4)
    return root


@pytest.fixture
def run(workspace, capsys, monkeypatch):
    """``run('train', *argv)`` -> the lines the tool printed on stderr (asserts exit status 1)."""
    monkeypatch.chdir(workspace)
    monkeypatch.delenv('DECLIP_TRACEBACK', raising=False)

    def call(tool: str, *argv: str, status: int = 1):
        module = _load_tool(tool)
        _rebind_log_streams()
        capsys.readouterr()
        with pytest.raises(SystemExit) if status else _null():
            module.run_main(lambda: module.main(list(argv)))
        captured = capsys.readouterr()
        assert 'Traceback' not in captured.err
        return [line for line in captured.err.splitlines() if line.strip()], captured.out
    return call


def _one_error(lines) -> str:
    errors = [line for line in lines if line.startswith('error: ')]
    assert len(errors) == 1, lines
    assert lines[-1] == errors[0]
    return errors[0]


@pytest.fixture
def one_error():
    """``one_error(lines)``: the single ``error:`` line of a tool's stderr lines, which must
    also be the last line."""
    return _one_error


@pytest.fixture
def train(run, workspace):
    """``train(*options, config=tests/configs/tiny_det.py)``: ``tools/train.py config`` through
    ``run``; its one error line."""
    def call(*options: str, config: str = TINY_DET) -> str:
        work = str(workspace / 'work')
        return _one_error(run('train', config, '--work-dir', work, *options)[0])
    return call


@pytest.fixture
def training_free_config(workspace):
    """``training_free_config(name, names)``: write ``workspace/name``, the tiny segmentation
    config with a tiny training-free segmentor whose ``class_names`` is the literal ``names``;
    returns its path."""
    def write(name: str, names: str) -> str:
        cfg = workspace / name
        cfg.write_text(TRAINING_FREE.format(base=TINY_SEG, names=names))
        return str(cfg)
    return write


@pytest.fixture
def checkpoint_file(workspace):
    """``checkpoint_file(name, obj={'state_dict': {}})``: ``torch.save`` ``obj`` to
    ``workspace/name``; returns its path."""
    import torch

    def write(name: str, obj=None) -> str:
        path = str(workspace / name)
        torch.save({'state_dict': {}} if obj is None else obj, path)
        return path
    return write


def _rebind_log_streams() -> None:
    """Loggers made by earlier tests in this process still write to those tests' (closed)
    captured streams; point them at the current one (a command line has no such problem)."""
    from mmengine.logging import MMLogger
    loggers = [logging.getLogger(), *MMLogger._instance_dict.values(),
               *[lg for lg in logging.Logger.manager.loggerDict.values()
                 if isinstance(lg, logging.Logger)]]
    for logger in loggers:
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:
                handler.stream = sys.stdout  # not setStream: it flushes the closed one


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


