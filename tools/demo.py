"""Words in, pictures out: open-vocabulary detection or segmentation of your own images.

    python tools/demo.py IMAGE [IMAGE ...] --words "cat,cup,rocket" --config CONFIG \
        [--checkpoint CKPT] [--out-dir outputs/demo] [--score-thr 0.3] [--seg-thr 0.0]
        [--draw-size 0] [--device cpu]

Writes one PNG per image into ``--out-dir``, the size of the input (``--draw-size N`` draws
images whose short side is below N on a copy enlarged by an integer factor, for small inputs
such as the 64 px OV-Shapes scenes):

* an mmdet config (e.g. ``configs/ovshapes/fvit_tiny-declip_ovshapes.py``, a trained
  ``DeCLIPFViT``): boxes with the word and score, drawn by mmdet's ``DetLocalVisualizer``;
* an mmseg config (``DeCLIPTrainingFreeSegmentor``, ``DeCLIPCATSeg``): coloured masks drawn by
  mmseg's ``SegLocalVisualizer`` plus a legend of the words found; pixels whose best score is
  below ``--seg-thr`` stay unpainted. The training-free segmentor needs no training: give it
  CLIP weights (the config's ``init_cfg`` or ``--checkpoint``).

A command line over ``declip_mm.apis.demo``. The words replace the model's vocabulary
(``declip_mm.apis.set_vocabulary``); ``'kitten; cat'`` gives one class
with two synonyms. ``--words`` is read by ``declip_mm.vocab.resolve_vocabulary`` (a builtin
vocabulary name or a class file works too).
Without ``--checkpoint`` the weights named in the config's ``init_cfg`` are
loaded, and they must cover the whole model; with it, the checkpoint is loaded strictly over the
built model (a detector / segmentor file, or a bare CLIP / DeCLIP file for the segmentors, whose
text tower then comes from the config's text-encoder ``init_cfg``). A file that does not fit,
or a model left with weights from no file, is one error line.

Example (no training needed, the shipped tiny OV-Shapes CLIP)::

    python tools/demo.py data/ovshapes/test/images/000000.png --seg-thr 0.5 \
        --words "red circle,blue bar,green square" \
        --config configs/ovshapes/seg_training-free_tiny-declip_ovshapes.py
"""
import argparse

from declip_mm.apis.cli import run_main


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description='Open-vocabulary detection / segmentation pictures')
    p.add_argument('images', nargs='+', help='image files')
    p.add_argument('--words', required=True,
                   help='comma-separated class names, e.g. "cat,coffee cup,kitten; cat" (";" '
                        'separates synonyms), a .txt / .json class file or a builtin vocabulary')
    p.add_argument('--config', required=True, help='an mmdet or mmseg config')
    p.add_argument('--checkpoint', default=None,
                   help='weights loaded over the model (default: the config\'s init_cfg)')
    p.add_argument('--out-dir', default='outputs/demo', help='where the PNGs go')
    p.add_argument('--score-thr', type=float, default=0.3, help='detection score threshold')
    p.add_argument('--seg-thr', type=float, default=0.0,
                   help='segmentation: leave pixels whose best class score is below this '
                        'unpainted (0: paint every pixel)')
    p.add_argument('--draw-size', type=int, default=0,
                   help='draw images whose short side is below this on a copy enlarged by an '
                        'integer factor (nearest neighbour); 0: draw at the input size')
    p.add_argument('--device', default='cpu')
    p.add_argument('--random-weights', action='store_true',
                   help='draw even if some weights come from no checkpoint (tests the drawing)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                   help='override config entries, as in tools/test.py')
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    from mmengine.logging import MMLogger

    from declip_mm.apis import demo
    from declip_mm.apis.inference import load_model_config, resolve_words
    from declip_mm.utils.errors import ConfigError
    cfg = load_model_config(args.config, args.cfg_options)
    MMLogger.get_instance('mmengine', log_level='WARNING')  # no weight-init report
    try:
        words = resolve_words(args.words)
    except ConfigError as err:
        raise ConfigError(f'--words: {err}') from None
    for out in demo(args.images, words, cfg, args.checkpoint, args.out_dir, args.score_thr,
                    args.seg_thr, args.draw_size, args.device, args.random_weights):
        print(out)


if __name__ == '__main__':
    run_main(main)
