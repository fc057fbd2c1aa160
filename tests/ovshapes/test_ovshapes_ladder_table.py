"""The ladder's table from its json: seeds that skipped a step (``--no-baseline`` after a run
with the baseline) still make one table (no training here)."""
from declip_mm.ovshapes.ladder import markdown


def _seed(seed, acc, novel_ap, times, baseline=False):
    dense = dict(all=acc, base=acc, novel=acc, miou=acc / 2)
    fvit = dict(declip_csa=dict(base_ap50=0.6, novel_ap50=novel_ap, all_ap50=0.5))
    if baseline:
        fvit['clip_vanilla'] = dict(base_ap50=0.4, novel_ap50=0.05, all_ap50=0.3)
    return dict(seed=seed, student=dict(csa=dense, maskclip=dense), fvit=fvit, times=times)


def test_markdown_over_seeds_with_a_skipped_baseline():
    res = dict(eval_scenes=10, test_scenes=5, wall_s=60.0,
               args=dict(world='128', distill_config='configs/x/declip_distill-context.py',
                         context_weight=1.0),
               teacher=dict(csa=dict(all=20.0, base=20.0, novel=20.0, miou=10.0)),
               seeds=[_seed(0, 30.0, 0.28, dict(distill=100.0, fvit_clip_vanilla=50.0), True),
                      _seed(1, 32.0, 0.30, dict(distill=120.0))])
    text = markdown(res)
    assert text.startswith('OV-Shapes ladder, 128 px world, distilled with '
                           'declip_distill-context.py, context weight 1, seeds 0, 1')
    assert '| DeCLIP-distilled, dense `csa` | 31.0 ± 1.4 |' in text
    assert '| tiny DeCLIP (`csa`) | 60.0 ± 0.0 | 29.0 ± 1.4 | 50.0 ± 0.0 |' in text
    assert 'tiny CLIP (`vanilla`)' not in text  # one seed only: no mean over seeds
    assert 'distill 110.0 ± 14.1' in text and 'fvit_clip_vanilla 50.0' in text
