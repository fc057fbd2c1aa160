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
