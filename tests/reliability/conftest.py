"""Fixtures of the reliability tests: a workspace with tiny datasets, and ``run`` calling a
tool's ``main`` in this process through ``run_main`` (as the command line does)."""
import logging
import sys

import pytest

from declip_mm.testing import make_tiny_coco, make_tiny_seg
from declip_mm.testing.scripts import load_script


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


