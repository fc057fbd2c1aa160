"""``DeCLIPCheckpointHook``: mmengine's ``CheckpointHook`` made crash-safe and exactly resumable.

Differences from the stock hook (arguments are the same):

* **Atomic writes.** A checkpoint is written as ``NAME.part`` and renamed to ``NAME`` once it is
  complete and flushed; ``last_checkpoint`` is replaced the same way. A kill at any moment leaves
  every earlier checkpoint intact and ``last_checkpoint`` naming a complete file.
* **Nothing completed is deleted early.** Checkpoints beyond ``max_keep_ckpts`` and the previous
  best one are removed only *after* the new file is in place (the stock hook removes first).
* **Exact resume.** The generator states of every rank are stored in the checkpoint
  (``rng_state``) and restored when training resumes, so ``--resume`` continues with the random
  numbers the interrupted run would have drawn. Validation runs between two training epochs
  leave the training generators untouched, so when validation happens does not change training.

* **One run per work dir.** Training locks the work dir (``engine/work_dir.py``); a second run
  is refused in one line, a lock left by a killed run is taken over.
* **Full disks.** A save that fails (``ENOSPC`` ...) removes its ``.part`` file and stops the run
  with one line; the last complete checkpoint and ``last_checkpoint`` stay as they were.
* **Relative ``last_checkpoint``.** It names the file relative to the work dir, and ``--resume``
  reads it that way, so moved or copied work dirs resume from their own files.
* **Distributed runs.** Every rank waits at the end of training until rank 0's last save is
  complete, so no process exits (and tears the group down) while the file is being written.

Registered in mmengine's root ``HOOKS``; the ``_base_`` runtimes under ``configs/_base_/`` name
it, so mmdet's and mmseg's own ``tools/train.py`` use it as ours do.
"""
import os.path as osp
from typing import List, Optional

from mmengine.dist import barrier, get_dist_info, get_world_size, is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.runner import BaseLoop, EpochBasedTrainLoop

from ..registry import HOOKS
from ..utils.errors import CheckpointError
from .atomic_io import (atomic_write_text, commit, part_path, remove_quietly,
                        remove_stale_parts)
from .rng_state import gather_rng_states, get_rng_state, rng_state_for_rank, set_rng_state
from .work_dir import (LAST_CHECKPOINT, claim_work_dir, latest_checkpoint, relative_to_work_dir,
                       unlock_work_dir)


@HOOKS.register_module()
class DeCLIPCheckpointHook(CheckpointHook):
    """mmengine ``CheckpointHook`` with atomic saves and generator-state resume.

    Takes exactly mmengine's ``CheckpointHook`` arguments. On a non-local ``out_dir`` (object
    stores have no rename) saves fall back to the stock behaviour; the generator states are
    stored either way.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._rng_snapshot: Optional[list] = None
        self._pending_rng: Optional[dict] = None
        self._val_rng: Optional[dict] = None

    # ------------------------------------------------------------------ saving
    def before_run(self, runner) -> None:
        """``--resume`` without a path: read ``last_checkpoint`` relative to the work dir."""
        super().before_run(runner)
        if getattr(runner, '_resume', False) and getattr(runner, '_load_from', None) is None:
            runner._load_from = latest_checkpoint(runner.work_dir)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if not is_main_process():
            return
        for note in claim_work_dir(runner.work_dir):  # no-op when tools/train.py claimed it
            runner.logger.warning(note)
        if self._is_local() and osp.abspath(self.out_dir) != osp.abspath(runner.work_dir):
            for path in remove_stale_parts(self.out_dir):
                runner.logger.warning(f'removed {path}, left by a save that was interrupted')

    def after_train(self, runner) -> None:
        super().after_train(runner)
        if get_world_size() > 1:
            barrier()  # no rank leaves (and tears the group down) before rank 0's save ends
        if is_main_process():
            unlock_work_dir(runner.work_dir)

    def _is_local(self) -> bool:
        return isinstance(getattr(self, 'file_backend', None), LocalBackend)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        self._rng_snapshot = gather_rng_states()  # collective: all ranks are here
        if not self._is_local():
            super()._save_checkpoint_with_step(runner, step, meta)
            return
        evicted = self._update_keep_ids(runner, step)
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        self._atomic_save(runner, ckpt_filename, save_optimizer=self.save_optimizer,
                          save_param_scheduler=self.save_param_scheduler, meta=meta,
                          by_epoch=self.by_epoch, **self.args)
        if not is_main_process():
            return
        self._write_or_fail(runner, osp.join(runner.work_dir, LAST_CHECKPOINT), lambda path: (
            atomic_write_text(path, relative_to_work_dir(self.last_ckpt, runner.work_dir))))
        for old in evicted:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            if path != self.last_ckpt and self.file_backend.isfile(path):
                self.file_backend.remove(path)

    def _update_keep_ids(self, runner, step: int) -> List[int]:
        """Book ``step`` among the kept checkpoints; return the steps to delete after saving."""
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            return []
        evicted = []
        while len(self.keep_ckpt_ids) >= self.max_keep_ckpts:
            evicted.append(self.keep_ckpt_ids.popleft())
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        return evicted

    def _atomic_save(self, runner, filename: str, **kwargs) -> None:
        """``runner.save_checkpoint`` into ``filename.part``, then rename (main process)."""
        def save(path: str) -> None:
            runner.save_checkpoint(self.out_dir, part_path(filename), self.file_client_args,
                                   backend_args=self.backend_args, **kwargs)
            if is_main_process():
                commit(part_path(path), path)

        self._write_or_fail(runner, osp.join(self.out_dir, filename), save)

    def _write_or_fail(self, runner, path: str, write) -> None:
        """``write(path)``; an ``OSError`` (a full disk ...) removes ``path.part`` and becomes
        one ``CheckpointError`` line. Earlier checkpoints and ``last_checkpoint`` are untouched.
        """
        try:
            write(path)
        except OSError as err:
            remove_quietly(part_path(path))
            kept = latest_checkpoint(runner.work_dir)
            kept = f', {kept} is the last complete checkpoint' if kept else ''
            reason = err.strerror or str(err) or type(err).__name__
            raise CheckpointError(f'cannot write {path}: {reason}; removed the partial file'
                                  f'{kept}. Free space and run again with --resume') from None

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's best-checkpoint logic; the new best is written before the old is removed."""
        if not self.save_best:
            return
        if not self._is_local():
            super()._save_best_checkpoint(runner, metrics)
            return
        cur_time = runner.epoch if self.by_epoch else runner.iter
        ckpt_filename = self.filename_tmpl.format(cur_time)
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])
        single = len(self.key_indicators) == 1
        updated = False
        for key, rule in zip(self.key_indicators, self.rules):
            score_key = 'best_score' if single else f'best_score_{key}'
            path_key = 'best_ckpt' if single else f'best_ckpt_{key}'
            best = runner.message_hub.get_info(score_key, self.init_value_map[rule])
            score = metrics[key]
            if score is None or not self.is_better_than[key](score, best):
                continue
            updated = True
            runner.message_hub.update_info(score_key, score)
            old = self.best_ckpt_path if single else self.best_ckpt_path_dict[key]
            name = f'best_{key}_{ckpt_filename}'.replace('/', '_')
            new = self.file_backend.join_path(self.out_dir, name)
            if single:
                self.best_ckpt_path = new
            else:
                self.best_ckpt_path_dict[key] = new
            runner.message_hub.update_info(path_key, new)
            self._atomic_save(runner, name, save_optimizer=False, save_param_scheduler=False,
                              meta=meta, by_epoch=False)
            if old and old != new and is_main_process() and self.file_backend.isfile(old):
                self.file_backend.remove(old)
            runner.logger.info(f'The best checkpoint with {score:0.4f} {key} at {cur_time} '
                               f'{"epoch" if self.by_epoch else "iter"} is saved to {name}.')
        if updated and self.last_ckpt is not None:
            self._save_checkpoint_with_step(runner, cur_time, meta)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store every rank's generator state (gathered when the save began)."""
        states = self._rng_snapshot if self._rng_snapshot is not None else [get_rng_state()]
        checkpoint['rng_state'] = states
        self._rng_snapshot = None

    # ---------------------------------------------------------------- resuming
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """On resume, keep this rank's saved generator state for the first training step."""
        if not getattr(runner, '_resume', False) or 'rng_state' not in checkpoint:
            return
        rank, world_size = get_dist_info()
        try:
            self._pending_rng = rng_state_for_rank(checkpoint['rng_state'], rank, world_size)
        except KeyError as err:
            runner.logger.warning(f'random generators not restored ({err}); the resumed run '
                                  'is reproducible but differs from an uninterrupted one')

    def before_train_epoch(self, runner) -> None:
        """Restore the generators just before the first batch after the resume point is drawn.

        Epoch loops create their data iterator after this hook: restore now. Iteration loops
        draw (and discard) the already-trained batches after this hook, through the random
        transforms; the restore waits until those draws are done (:class:`RestoreBeforeDraw`).
        """
        if self._pending_rng is None:
            return
        loop = runner.train_loop
        if isinstance(loop, EpochBasedTrainLoop) or not hasattr(loop, 'dataloader_iterator'):
            self._restore_pending(runner)
        else:
            loop.dataloader_iterator = RestoreBeforeDraw(loop, runner.iter,
                                                         lambda: self._restore_pending(runner))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._restore_pending(runner)  # a loop that draws without its ``dataloader_iterator``
        super().before_train_iter(runner, batch_idx, data_batch)

    def _restore_pending(self, runner) -> None:
        if self._pending_rng is not None:
            set_rng_state(self._pending_rng)
            self._pending_rng = None
            runner.logger.info('restored the random generators saved in the checkpoint')

    # ------------------------------------------------------------- validation
    def before_val(self, runner) -> None:
        """Validation must not advance the training generators."""
        if isinstance(getattr(runner, '_train_loop', None), BaseLoop):  # during training
            self._val_rng = get_rng_state()

    def after_val(self, runner) -> None:
        if self._val_rng is not None:
            set_rng_state(self._val_rng)
            self._val_rng = None


class RestoreBeforeDraw:
    """Stand-in for an iteration loop's ``dataloader_iterator`` after a resume.

    Lets ``skip`` batches through, then calls ``restore`` and puts the loop's own iterator back
    before the next batch is drawn, so that batch sees the generator state of the checkpoint.
    """

    def __init__(self, loop, skip: int, restore) -> None:
        self._loop, self._inner = loop, loop.dataloader_iterator
        self._left, self._restore = skip, restore

    def __iter__(self):
        return self

    def __next__(self):
        if self._left > 0:
            self._left -= 1
        else:
            self._restore()
            self._loop.dataloader_iterator = self._inner
        return next(self._inner)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)
