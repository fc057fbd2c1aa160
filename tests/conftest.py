"""Test setup: no model hub is ever contacted, everything runs on CPU with tiny models."""
import os
import tempfile

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
# the text-embedding cache of the tests goes to a fresh folder, not the user's cache
os.environ.setdefault('DECLIP_MM_TEXT_CACHE', tempfile.mkdtemp(prefix='declip_mm_text_cache_'))
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture
def tiny_eva():
    from declip_mm.testing import TINY_EVA
    return dict(TINY_EVA)


@pytest.fixture
def tiny_vit():
    from declip_mm.testing import TINY_VIT
    return dict(TINY_VIT)


@pytest.fixture
def build_distiller():
    """``build_distiller(**kwargs)``: a tiny initialised ``DeCLIPDistiller``
    (:func:`declip_mm.testing.distill.build_distiller`)."""
    from declip_mm.testing.distill import build_distiller
    return build_distiller


@pytest.fixture
def distill_batch():
    """``distill_batch(names=('astronaut', 'coffee'), seed=0, vfm_size=112)``: a collated batch
    of skimage photos for the tiny distiller
    (:func:`declip_mm.testing.distill.make_distill_batch`)."""
    from declip_mm.testing.distill import make_distill_batch
    return make_distill_batch


# --------------------------------------------------------------------------- tool processes
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tool_env(**extra: str) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE='1', OMP_NUM_THREADS='1',
               MKL_NUM_THREADS='1')
    env.pop('DECLIP_TRACEBACK', None)
    env.update(extra)
    return env


@pytest.fixture
def tool_env():
    """``tool_env(**extra)``: the environment of a tool run in a subprocess (offline, 1 thread,
    ``declip_mm`` of this checkout importable), with ``extra`` variables set."""
    return _tool_env


@pytest.fixture
def start_tool():
    """``start_tool('train.py', *args, cwd=..., log=..., **env)``: start ``tools/<tool>``;
    stdout and stderr go to the file ``log``; returns the ``subprocess.Popen``."""
    import subprocess
    import sys

    def start(tool: str, *args: str, cwd: str, log: str, **env: str):
        out = open(log, 'w')
        return subprocess.Popen([sys.executable, os.path.join(ROOT, 'tools', tool), *args],
                                cwd=cwd, env=_tool_env(**env), stdout=out,
                                stderr=subprocess.STDOUT)
    return start


@pytest.fixture
def wait_for():
    """``wait_for(path, proc, timeout=300)``: block until ``path`` exists; fail if ``proc``
    ends first or time runs out."""
    import time

    def wait(path: str, proc, timeout: float = 300) -> None:
        start = time.time()
        while not os.path.exists(path):
            if proc.poll() is not None:
                raise AssertionError(f'process ended (status {proc.returncode}) before {path}')
            if time.time() - start > timeout:
                raise AssertionError(f'{path} did not appear within {timeout}s')
            time.sleep(0.02)
    return wait


@pytest.fixture
def max_abs_diff():
    """``max_abs_diff(a, b)``: the largest absolute difference over the floating tensors of two
    (nested) checkpoint parts; integer tensors must be equal."""
    def diff(a: dict, b: dict) -> float:
        worst = 0.0
        for key, value in a.items():
            other = b[key]
            if isinstance(value, dict):
                worst = max(worst, diff(value, other))
            elif torch.is_tensor(value) and value.is_floating_point():
                worst = max(worst, (value - other).abs().max().item() if value.numel() else 0.0)
            elif torch.is_tensor(value):
                assert torch.equal(value, other), key
        return worst
    return diff
