"""Testing entry point: a config and a checkpoint in, the evaluator's metrics out.

``tools/test.py`` is a command line over :func:`test_config` and :func:`test`; the OV-Shapes
jobs call them in-process and read the returned metrics. The checkpoint is loaded strictly:
one that leaves model weights missing, or holds unexpected ones, is refused with the keys named
(``strict=False`` evaluates anyway, logging them).
"""
import copy
import os.path as osp
import warnings
from typing import Dict, Optional, Sequence

from mmengine.config import Config

from .train import default_work_dir


def test_config(config: str, work_dir: Optional[str] = None, show_dir: Optional[str] = None,
                show: bool = False, wait_time: float = 2, tta: bool = False,
                out: Optional[str] = None, cfg_options: Optional[dict] = None,
                launcher: str = 'none') -> Config:
    """Load ``config`` for testing, with the command line's overrides applied.

    Args:
        config: config file.
        work_dir: where the evaluation log goes.
        show_dir: write prediction pictures into this folder.
        show: show the predictions in a window, ``wait_time`` seconds each.
        tta: test-time augmentation (see :func:`use_tta`).
        out: dump raw predictions to this pickle file (mmengine's ``DumpResults``).
        cfg_options: ``{dotted key: value}`` overrides (``--cfg-options``).
        launcher: ``none``, ``pytorch``, ``slurm`` or ``mpi``.
    """
    from ..engine.config_tools import enable_visualization, load_config
    cfg = load_config(config, cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(config)
    cfg.load_from = None  # loaded explicitly (strictly) by test()
    cfg.resume = False
    if show_dir:
        enable_visualization(cfg, show_dir)
    if show:
        show_predictions(cfg, wait_time)
    if tta:
        use_tta(cfg)
    if out:
        cfg.test_evaluator = [*_as_list(cfg.test_evaluator),
                              dict(type='DumpResults', out_file_path=out)]
    return cfg


test_config.__test__ = False  # not a pytest test


def show_predictions(cfg: Config, wait_time: float) -> None:
    """The visualization hook draws each prediction in a window (as mmdet / mmseg)."""
    from ..utils.errors import ConfigError
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise ConfigError('--show needs a "visualization" entry in default_hooks')
    hook.update(draw=True, show=True, wait_time=wait_time)


def use_tta(cfg: Config) -> None:
    """Wrap the model in ``cfg.tta_model`` and test with ``cfg.tta_pipeline``.

    As mmdet's ``tools/test.py``, an mmdet config without them gets ``DetTTAModel`` (NMS 0.5,
    100 boxes) and a flip / no-flip ``TestTimeAug`` replacing the last step of its test pipeline;
    an mmseg config must define both (as mmseg's ``tools/test.py`` requires).
    """
    from ..utils.errors import ConfigError
    if cfg.get('default_scope') == 'mmdet':
        if 'tta_model' not in cfg:
            warnings.warn('--tta: no tta_model in the config; using DetTTAModel (NMS 0.5, 100)')
            cfg.tta_model = dict(type='DetTTAModel', tta_cfg=dict(
                nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
        if 'tta_pipeline' not in cfg:
            warnings.warn('--tta: no tta_pipeline in the config; flipping the test pipeline')
            cfg.tta_pipeline = flipped_pipeline(cfg.test_dataloader.dataset)
    missing = [k for k in ('tta_model', 'tta_pipeline') if k not in cfg]
    if missing:
        raise ConfigError(f'--tta needs {" and ".join(missing)} in the config')
    cfg.model = dict(cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def flipped_pipeline(dataset: dict) -> list:
    """The dataset's test pipeline with its last step (the packer) replaced by a flip / no-flip
    ``TestTimeAug`` that packs the flip keys too (mmdet's default)."""
    while 'dataset' in dataset:
        dataset = dataset['dataset']
    pipeline = copy.deepcopy(dataset.pipeline)
    pack = dict(pipeline[-1])  # PackDetInputs: its meta keys plus the flip ones
    keys = tuple(pack.get('meta_keys', ('img_id', 'img_path', 'ori_shape', 'img_shape',
                                        'scale_factor')))
    pack['meta_keys'] = keys + tuple(k for k in ('flip', 'flip_direction') if k not in keys)
    pipeline[-1] = dict(type='TestTimeAug', transforms=[
        [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)], [pack]])
    return pipeline


def require_file(checkpoint: str) -> None:
    """One ``CheckpointError`` line when ``checkpoint`` is not a file."""
    from ..utils.errors import CheckpointError
    if not osp.isfile(checkpoint):
        raise CheckpointError(f'checkpoint file not found: {checkpoint}')


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def test(cfg: Config, checkpoint: str, strict: bool = True,
         hooks: Sequence = ()) -> Dict[str, float]:
    """Load ``checkpoint`` strictly into the config's model and run mmengine's test loop.

    Args:
        cfg: a config from :func:`test_config`.
        checkpoint: the weights.
        strict: refuse a checkpoint that does not fit the model exactly.
        hooks: extra ``mmengine.hooks.Hook`` instances registered on the runner.

    Returns:
        the evaluator's metrics (``runner.test()``), e.g. ``{'coco/bbox_mAP_50': 0.61, ...}``.
    """
    from mmengine.runner import Runner

    from ..checkpoint.model_loading import load_checkpoint_strictly
    from ..checkpoint.reading import inspect_checkpoint
    from ..engine.config_tools import check_config
    from ..engine.distributed import finish_distributed, setup_cpu_distributed
    from ..engine.user_errors import user_errors
    require_file(checkpoint)
    check_config(cfg, ['test_dataloader'])
    inspect_checkpoint(checkpoint)  # an unreadable file: one line, before the runner's log
    setup_cpu_distributed(cfg)
    with user_errors(cfg, ['test_dataloader']):
        runner = Runner.from_cfg(cfg)
        for hook in hooks:
            runner.register_hook(hook)
        load_checkpoint_strictly(runner, checkpoint, strict=strict)
        metrics = runner.test()
    finish_distributed()
    return dict(metrics)


test.__test__ = False  # not a pytest test
