"""Progress of the OV-Shapes jobs: tqdm bars, and runs of mmengine's Runner in this process
with their log in a file and a bar fed by the training / test loop (no log parsing)."""
import contextlib
import itertools
import os
import sys
import time
import traceback
from typing import Callable, Iterator, Optional, TextIO, Tuple, TypeVar

from mmengine.hooks import Hook

from ..utils.errors import DeCLIPError

T = TypeVar('T')
_RUNS = itertools.count()


def bar(total: int, desc: str, file: Optional[TextIO] = None):
    """A tqdm bar on ``file`` (default: standard output)."""
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit='it', dynamic_ncols=True, file=file or sys.stdout)


class LoopProgressHook(Hook):
    """A progress bar per loop: training (one per epoch for epoch loops) and testing.

    Not registered: the jobs pass an instance to ``declip_mm.apis.train`` / ``test``.

    Args:
        desc: bar label.
        file: where the bars go (the terminal, while the run's log goes elsewhere).
    """
    priority = 'VERY_LOW'

    def __init__(self, desc: str, file: TextIO) -> None:
        self.desc, self.file, self.pbar = desc, file, None

    def _start(self, total: int, suffix: str = '') -> None:
        self._close()
        self.pbar = bar(total, self.desc + suffix, self.file)

    def _close(self) -> None:
        if self.pbar is not None:
            self.pbar.close()
            self.pbar = None

    def before_train_epoch(self, runner) -> None:
        from mmengine.runner import EpochBasedTrainLoop
        loop = runner.train_loop
        if isinstance(loop, EpochBasedTrainLoop):
            self._start(len(loop.dataloader), f' epoch {runner.epoch + 1}')
        elif self.pbar is None:
            self._start(loop.max_iters - runner.iter)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.pbar is not None:
            self.pbar.update(1)

    def after_train(self, runner) -> None:
        self._close()

    def before_test_epoch(self, runner) -> None:
        self._start(len(runner.test_loop.dataloader))

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.pbar is not None:
            self.pbar.update(1)

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._close()


def isolate_run(cfg, tag: str) -> None:
    """Name this run's experiment and visualizer uniquely: mmengine keys its logger, message hub
    and visualizer instances by name, and two runs of one config started in the same second
    (or any two runs, for the config's fixed visualizer name) would otherwise share them."""
    name = f'{tag}_{os.getpid()}_{next(_RUNS)}'
    cfg.experiment_name = name
    if cfg.get('visualizer'):
        cfg.visualizer.name = name


@contextlib.contextmanager
def output_to(log_path: str) -> Iterator[TextIO]:
    """Send standard output and error (the runner's console log, warnings) to ``log_path``
    inside the block; yields the terminal's standard output, for progress bars. Loggers made
    inside the block are pointed back at the terminal when it ends."""
    from mmengine.logging import MMLogger
    terminal = sys.stdout
    os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    with open(log_path, 'w') as log:
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield terminal
        finally:
            for logger in list(MMLogger._instance_dict.values()):
                for handler in logger.handlers:
                    if getattr(handler, 'stream', None) is log:
                        handler.setStream(terminal)


def logged_run(fn: Callable[..., T], desc: str, log_path: str) -> Tuple[T, float]:
    """``fn(hooks=[bar hook])`` with its output in ``log_path`` and a progress bar.

    Returns:
        ``fn``'s result and the wall seconds it took.

    Raises:
        RuntimeError: naming the step and its log (with the log's tail) when ``fn`` fails.
        DeCLIPError: unchanged (a user error: missing data, a bad config).
    """
    t0 = time.time()
    try:
        with output_to(log_path) as terminal:
            result = fn(hooks=[LoopProgressHook(desc, terminal)])
    except DeCLIPError:
        raise  # a user error is already one line (run_main prints it)
    except Exception as err:
        with open(log_path, 'a') as f:
            f.write(traceback.format_exc())
        with open(log_path) as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f'{desc} failed ({type(err).__name__}: {err}); log: {log_path}\n'
                           f'{tail}') from err
    return result, time.time() - t0
