"""Weight ensembling of the distilled student with the original CLIP, written once per epoch.

DeCLIP (like CLIPSelf) saves ``alpha * student + (1 - alpha) * teacher`` key by key after every
epoch (alpha 0.7 for ViT-B, 0.95 for ViT-L; ``alpha >= 1`` saves the student unchanged), while
training continues from the un-ensembled student. The file holds
``{'state_dict': DeCLIPViT keys ('visual.*'), 'meta': {...}}``, so it loads directly through
``DeCLIPViT(init_cfg=dict(type='Pretrained', checkpoint=...))`` in the distillation, detection
and segmentation configs, and through ``tools/test.py`` with the region-classification configs.
"""
import json
import os.path as osp
from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import Tensor

from ...engine.atomic_io import atomic_torch_save
from ...registry import HOOKS
from ...utils.errors import ConfigError


def ensemble_state_dict(student: Dict[str, Tensor], teacher: Dict[str, Tensor],
                        alpha: float) -> Dict[str, Tensor]:
    """``alpha * student + (1 - alpha) * teacher`` for every floating tensor (on CPU).

    Non-floating tensors (integer buffers) are taken from the student. ``alpha >= 1`` returns
    the student. The sum is computed in float32 and cast back to each tensor's dtype.

    Raises:
        ValueError: if the two state dicts have different keys or shapes.
    """
    if set(student) != set(teacher):
        diff = sorted(set(student) ^ set(teacher))
        raise ValueError(f'student and teacher state dicts differ in keys: {diff[:5]}')
    out = {}
    for key, s in student.items():
        t = teacher[key]
        if s.shape != t.shape:
            raise ValueError(f'{key}: student {tuple(s.shape)} vs teacher {tuple(t.shape)}')
        s = s.detach().cpu()
        if alpha >= 1.0 or not s.is_floating_point():
            out[key] = s.clone()
        else:
            mix = alpha * s.float() + (1.0 - alpha) * t.detach().cpu().float()
            out[key] = mix.to(s.dtype)
    return out


@HOOKS.register_module()
class DeCLIPEnsembleCheckpointHook(Hook):
    """Save the alpha-ensembled student backbone every ``interval`` epochs (and after the last).

    Args:
        alpha: student weight (0.7 for ViT-B, 0.95 for ViT-L; >= 1 disables ensembling).
        interval: epochs between saves.
        out_dir: folder (default: the runner's work dir).
        filename_tmpl: file name, formatted with the epoch number.
    """

    priority = 'VERY_LOW'

    def __init__(self, alpha: float = 0.7, interval: int = 1, out_dir: Optional[str] = None,
                 filename_tmpl: str = 'declip_backbone_epoch_{}.pth'):
        if alpha <= 0:
            raise ConfigError(f'ensemble alpha must be > 0, got {alpha}')
        self.alpha, self.interval = float(alpha), int(interval)
        self.out_dir, self.filename_tmpl = out_dir, filename_tmpl
        self.last_path: Optional[str] = None

    def after_train_epoch(self, runner) -> None:
        if not (self.every_n_epochs(runner, self.interval) or self.is_last_train_epoch(runner)):
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not (hasattr(model, 'student') and hasattr(model, 'teacher')):
            raise ConfigError('DeCLIPEnsembleCheckpointHook needs a model with "student" and '
                              '"teacher" (DeCLIPDistiller)')
        state = ensemble_state_dict(model.student.state_dict(), model.teacher.state_dict(),
                                    self.alpha)
        epoch = runner.epoch + 1
        path = osp.join(self.out_dir or runner.work_dir, self.filename_tmpl.format(epoch))
        self.last_path = path
        if not is_main_process():
            return
        # plain types only, so the file loads with torch.load(weights_only=True)
        arch = json.loads(json.dumps(model.student.arch_cfg, default=str))
        meta = dict(epoch=epoch, iter=runner.iter, alpha=self.alpha, mode=model.student.mode,
                    arch=arch, format='declip_mm DeCLIPViT state_dict')
        atomic_torch_save(dict(state_dict=state, meta=meta), path)
        runner.logger.info(f'saved the alpha={self.alpha} ensembled backbone to {path}')
