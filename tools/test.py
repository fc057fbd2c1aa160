"""Evaluate a checkpoint of an MMDetection or MMSegmentation config that uses declip_mm.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--show-dir DIR] [--show]
                         [--wait-time S] [--tta] [--out FILE] [--non-strict]
                         [--cfg-options k=v ...] [--launcher ...]

``--show``, ``--wait-time`` and ``--tta`` behave as in mmdet's / mmseg's ``tools/test.py``
(for mmdet configs without ``tta_model`` / ``tta_pipeline``, mmdet's flip defaults are used).

The checkpoint is loaded strictly: one that leaves model weights missing, or holds unexpected
ones, is refused with the keys named (``--non-strict`` evaluates anyway, logging them).
"""
import argparse
import os.path as osp

from _bootstrap import run_main


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Test a declip_mm model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where the evaluation log goes')
    parser.add_argument('--show-dir', help='write prediction pictures into this folder')
    parser.add_argument('--show', action='store_true', help='show the predictions in a window')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each picture of --show stays on screen')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation')
    parser.add_argument('--out', help='dump raw predictions to this pickle file')
    parser.add_argument('--non-strict', action='store_true',
                        help='evaluate even if the checkpoint does not fit the model exactly')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace):
    from declip_mm.engine.config_tools import enable_visualization, load_config
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = None  # loaded explicitly (strictly) by main()
    cfg.resume = False
    if args.show_dir:
        enable_visualization(cfg, args.show_dir)
    if args.show:
        show_predictions(cfg, args.wait_time)
    if args.tta:
        use_tta(cfg)
    if args.out:
        cfg.test_evaluator = [*_as_list(cfg.test_evaluator),
                              dict(type='DumpResults', out_file_path=args.out)]
    return cfg


def show_predictions(cfg, wait_time: float) -> None:
    """``--show``: the visualization hook draws each prediction in a window (as mmdet / mmseg)."""
    from declip_mm.utils.errors import ConfigError
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise ConfigError('--show needs a "visualization" entry in default_hooks')
    hook.update(draw=True, show=True, wait_time=wait_time)


def use_tta(cfg) -> None:
    """``--tta``: wrap the model in ``cfg.tta_model`` and test with ``cfg.tta_pipeline``.

    As mmdet's ``tools/test.py``, an mmdet config without them gets ``DetTTAModel`` (NMS 0.5,
    100 boxes) and a flip / no-flip ``TestTimeAug`` replacing the last step of its test pipeline;
    an mmseg config must define both (as mmseg's ``tools/test.py`` requires).
    """
    import copy
    import warnings

    from declip_mm.utils.errors import ConfigError
    if cfg.get('default_scope') == 'mmdet':
        if 'tta_model' not in cfg:
            warnings.warn('--tta: no tta_model in the config; using DetTTAModel (NMS 0.5, 100)')
            cfg.tta_model = dict(type='DetTTAModel', tta_cfg=dict(
                nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
        if 'tta_pipeline' not in cfg:
            warnings.warn('--tta: no tta_pipeline in the config; flipping the test pipeline')
            dataset = cfg.test_dataloader.dataset
            while 'dataset' in dataset:
                dataset = dataset['dataset']
            pipeline = copy.deepcopy(dataset.pipeline)
            pack = dict(pipeline[-1])  # PackDetInputs: its meta keys plus the flip ones
            keys = tuple(pack.get('meta_keys', ('img_id', 'img_path', 'ori_shape', 'img_shape',
                                                'scale_factor')))
            pack['meta_keys'] = keys + tuple(k for k in ('flip', 'flip_direction')
                                             if k not in keys)
            pipeline[-1] = dict(type='TestTimeAug', transforms=[
                [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)], [pack]])
            cfg.tta_pipeline = pipeline
    missing = [k for k in ('tta_model', 'tta_pipeline') if k not in cfg]
    if missing:
        raise ConfigError(f'--tta needs {" and ".join(missing)} in the config')
    cfg.model = dict(cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def main(argv=None) -> None:
    args = parse_args(argv)
    from declip_mm.utils.errors import CheckpointError
    if not osp.isfile(args.checkpoint):
        raise CheckpointError(f'checkpoint file not found: {args.checkpoint}')
    cfg = build_config(args)
    from declip_mm.checkpoint.model_loading import load_checkpoint_strictly
    from declip_mm.checkpoint.reading import inspect_checkpoint
    from declip_mm.engine.config_tools import check_config
    from declip_mm.engine.distributed import finish_distributed, setup_cpu_distributed
    from declip_mm.engine.user_errors import user_errors
    check_config(cfg, ['test_dataloader'])
    inspect_checkpoint(args.checkpoint)  # an unreadable file: one line, before the runner's log
    setup_cpu_distributed(cfg)
    from mmengine.runner import Runner
    with user_errors(cfg, ['test_dataloader']):
        runner = Runner.from_cfg(cfg)
        load_checkpoint_strictly(runner, args.checkpoint, strict=not args.non_strict)
        runner.test()
    finish_distributed()


if __name__ == '__main__':
    run_main(main)
