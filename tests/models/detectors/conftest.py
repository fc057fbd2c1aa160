"""Fixtures shared by the detector tests."""
import pytest


@pytest.fixture(autouse=True)
def mmdet_scope():
    """Build from mmdet's registries, whatever scope an earlier test left current.

    Heads build their coders and losses through mmengine registries, which follow the current
    default scope; a segmentation test run earlier in the same process leaves ``mmseg`` there.
    """
    from mmengine.registry import DefaultScope, init_default_scope
    previous = DefaultScope.get_current_instance()
    init_default_scope('mmdet')
    yield
    if previous is not None:
        init_default_scope(previous.scope_name)
