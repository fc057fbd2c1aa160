"""Weight ensembling of the distilled student with the original CLIP: saved and validated.

DeCLIP (like CLIPSelf) forms ``alpha * student + (1 - alpha) * teacher`` key by key after every
epoch (alpha 0.7 for ViT-B, 0.95 for ViT-L; ``alpha >= 1`` keeps the student unchanged), saves
it, and validates *these* weights, while training continues from the un-ensembled student.

``DeCLIPEnsembleCheckpointHook`` does both:

* after a training epoch it writes ``{'state_dict': ..., 'meta': {...}}`` holding the ensembled
  image tower under ``DeCLIPViT``'s keys (``visual.*``) and, when the student was initialised from
  a CLIP checkpoint with a text tower, that text tower unchanged under ``text.*`` (as the official
  ensembled checkpoint, a whole CLIP model, holds it; the text tower is not distilled, so its
  ensemble is itself). The file loads through ``DeCLIPViT(init_cfg=dict(type='Pretrained',
  checkpoint=...))`` and ``DeCLIPTextEncoder(init_cfg=...)`` alike;
* around every validation epoch it loads the ensembled weights into the student and puts the
  student's own weights back afterwards, so the reported accuracies are those of the file.
"""
import json
import os.path as osp
from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import Tensor, nn

from ..checkpoint import pretrained_checkpoint, read_checkpoint, text_state_dict
from ..registry import HOOKS
from .atomic_io import atomic_torch_save
from ..utils.errors import ConfigError


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


def read_text_tower(path: str) -> Dict[str, Tensor]:
    """The text tower of a CLIP checkpoint under ``text.*`` keys (empty if it has none)."""
    text = text_state_dict(read_checkpoint(path))
    return {f'text.{k}': v.detach().cpu() for k, v in text.items() if k != 'attn_mask'}


def unwrap_distiller(runner) -> nn.Module:
    """The runner's model without its wrapper; it must have a ``student`` and a ``teacher``."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    if not (hasattr(model, 'student') and hasattr(model, 'teacher')):
        raise ConfigError('DeCLIPEnsembleCheckpointHook needs a model with "student" and '
                          '"teacher" (DeCLIPDistiller)')
    return model


@HOOKS.register_module()
class DeCLIPEnsembleCheckpointHook(Hook):
    """Save (every ``interval`` epochs and after the last) and validate the ensembled student.

    Args:
        alpha: student weight (0.7 for ViT-B, 0.95 for ViT-L; >= 1 disables ensembling).
        interval: epochs between saves.
        out_dir: folder (default: the runner's work dir).
        filename_tmpl: file name, formatted with the epoch number.
        text_checkpoint: CLIP checkpoint whose text tower goes into the file: ``'init'`` (the
            student's ``init_cfg`` checkpoint, as upstream saves the whole CLIP), a path, or
            None (image tower only).
        validate_ensembled: run validation on the ensembled weights (upstream's protocol);
            False validates the student as it trains.
    """

    priority = 'VERY_LOW'

    def __init__(self, alpha: float = 0.7, interval: int = 1, out_dir: Optional[str] = None,
                 filename_tmpl: str = 'declip_backbone_epoch_{}.pth',
                 text_checkpoint: Optional[str] = 'init', validate_ensembled: bool = True):
        if alpha <= 0:
            raise ConfigError(f'ensemble alpha must be > 0, got {alpha}')
        self.alpha, self.interval = float(alpha), int(interval)
        self.out_dir, self.filename_tmpl = out_dir, filename_tmpl
        self.text_checkpoint, self.validate_ensembled = text_checkpoint, validate_ensembled
        self.last_path: Optional[str] = None
        self._text: Optional[Dict[str, Tensor]] = None
        self._backup: Optional[Dict[str, Tensor]] = None

    def ensembled(self, model: nn.Module) -> Dict[str, Tensor]:
        """The ensembled student state dict (CPU)."""
        return ensemble_state_dict(model.student.state_dict(), model.teacher.state_dict(),
                                   self.alpha)

    def text_tower(self, model: nn.Module) -> Dict[str, Tensor]:
        """``text.*`` tensors to store beside the image tower (read once)."""
        if self._text is None:
            path = pretrained_checkpoint(model.student.init_cfg) \
                if self.text_checkpoint == 'init' else self.text_checkpoint
            self._text = read_text_tower(path) if path else {}
        return self._text

    def after_train_epoch(self, runner) -> None:
        if not (self.every_n_epochs(runner, self.interval) or self.is_last_train_epoch(runner)):
            return
        model = unwrap_distiller(runner)
        state = self.ensembled(model)
        epoch = runner.epoch + 1
        path = osp.join(self.out_dir or runner.work_dir, self.filename_tmpl.format(epoch))
        self.last_path = path
        if not is_main_process():
            return
        text = self.text_tower(model)
        # plain types only, so the file loads with torch.load(weights_only=True)
        arch = json.loads(json.dumps(model.student.arch_cfg, default=str))
        meta = dict(epoch=epoch, iter=runner.iter, alpha=self.alpha, mode=model.student.mode,
                    arch=arch, text_tower=bool(text), format='declip_mm DeCLIPViT state_dict')
        atomic_torch_save(dict(state_dict=dict(state, **text), meta=meta), path)
        runner.logger.info(f'saved the alpha={self.alpha} ensembled backbone to {path}')

    def before_val_epoch(self, runner) -> None:
        """Swap the ensembled weights into the student for validation."""
        if not self.validate_ensembled or self.alpha >= 1.0:
            return
        model = unwrap_distiller(runner)
        self._backup = {k: v.detach().cpu().clone()
                        for k, v in model.student.state_dict().items()}
        model.student.load_state_dict(self.ensembled(model), strict=True)

    def after_val_epoch(self, runner, metrics=None) -> None:
        """Put the student's own weights back (training continues from them)."""
        if self._backup is None:
            return
        unwrap_distiller(runner).student.load_state_dict(self._backup, strict=True)
        self._backup = None
