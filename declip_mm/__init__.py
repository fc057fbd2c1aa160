"""declip_mm: DeCLIP (CVPR 2025) for MMDetection 3.x and MMSegmentation 1.x.

Importing the package registers every component (``custom_imports=['declip_mm']``) and adds
the types mmengine writes into checkpoints to torch's ``weights_only`` allow-list
(``checkpoint.safe_load``), so checkpoints load on torch >= 2.6.
"""
from .checkpoint.safe_load import register_checkpoint_types

register_checkpoint_types()

from . import datasets, engine, evaluation, models  # noqa: E402,F401  (registers components)

__version__ = '0.1.0'
