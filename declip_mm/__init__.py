"""declip_mm: DeCLIP (CVPR 2025) for MMDetection 3.x and MMSegmentation 1.x.

Importing the package first checks the installed mmengine / mmcv / mmdet / mmseg against the
ranges in ``version.py`` (one ``ImportError`` line naming the installed and required versions),
then registers every component (``custom_imports=['declip_mm']``) and adds the types mmengine
writes into checkpoints to torch's ``weights_only`` allow-list (``checkpoint.safe_load``), so
checkpoints load on torch >= 2.6.
"""
from .version import __version__, check_mm_versions

check_mm_versions()

from .checkpoint.safe_load import register_checkpoint_types  # noqa: E402

register_checkpoint_types()

from . import datasets, engine, evaluation, models  # noqa: E402,F401  (registers components)
