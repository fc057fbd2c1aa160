"""Markdown report of the GPU benchmark (``gpu.py``): one renderer per section."""
from .report import table


def _gib(x: dict):
    return x.get('peak_gib')


def _amp(dtype: str) -> str:
    return 'fp32' if dtype == 'none' else f'AMP {dtype}'


def _err(x: dict) -> str:
    """A failed row's cell: the last line of its error (a traceback's message)."""
    if 'error' not in x:
        return None
    return 'failed: ' + x['error'].strip().splitlines()[-1].replace('|', '/')


def md_encoder(r: dict) -> list:
    """Images/s and peak memory per (arch, size, dtype)."""
    rows = [(x['arch'], x['size'], x['tokens'], x['dtype'], x['batch'],
             x.get('images_per_s') or _err(x), _gib(x)) for x in r['rows']]
    return table(['tower', 'size', 'tokens', 'dtype', 'batch', 'images/s', 'peak (GiB)'],
                 rows) + [
        '`DeCLIPViT.encode_dense` (csa, normalised content map), random weights, no gradients; '
        'bf16 under `torch.autocast`, fp32 with TF32 off (torch\'s default). Peak: '
        '`torch.cuda.max_memory_allocated` over the row\'s calls, weights included.', '']


def _fvit_rows(x: dict) -> list:
    if 'error' in x:
        return [(x.get('model', '?'), '-', '-', '-', _err(x), None)]
    rows = [(x['model'], x['batch'], 'inference', dtype, t.get('images_per_s') or _err(t),
             _gib(t)) for dtype, t in x['infer'].items()]
    t = x['train']
    return rows + [(x['model'], x['batch'], 'training', _amp(x['amp']),
                    t.get('iters_per_s') or _err(t), _gib(t))]


def md_fvit(r: dict) -> list:
    """F-ViT rows, then (with ``--clim-repo``) ours on the peer's tower beside the peer."""
    rows = [row for x in r['rows'] for row in _fvit_rows(x)]
    lines = table(['F-ViT', 'batch', 'phase', 'precision', 'images/s (inference), iters/s '
                   '(training)', 'peak (GiB)'], rows) + [
        '`test_step` / `train_step` of the config with random weights and a one-prompt tiny '
        'text tower; training under the config\'s `AmpOptimWrapper`.', '']
    if 'peer' in r:
        ours, peer = r['ours_b16'], r['peer']
        peer_rows = _fvit_rows(ours)
        if 'error' in peer:
            peer_rows.append(('CLIM F-VLM', '-', '-', '-', _err(peer), None))
        else:
            peer_rows += [(peer['model'], ours.get('batch', '-'), 'inference', 'fp32',
                           ours.get('batch', 1) / peer['infer']['fp32']['s'],
                           _gib(peer['infer']['fp32'])),
                          (peer['model'], ours.get('batch', '-'), 'training', _amp(peer['amp']),
                           1 / peer['train']['s'], _gib(peer['train']))]
        lines += ['### Beside the CLIM F-VLM peer (ViT-B/16 towers)', '']
        lines += table(['model', 'batch', 'phase', 'precision', 'images/s or iters/s',
                        'peak (GiB)'], peer_rows)
        ratio = r.get('ratio')
        if ratio:
            lines += [f"Time ours / peer: inference fp32 {ratio['infer fp32']:.3f}, training "
                      f"{ratio['train']:.3f} (each in its own process, one run).", '']
    return lines


def md_train(report: dict, sections: list) -> list:
    rows = []
    for s in sections:
        x = report[s]
        if 'error' in x:
            rows.append((s, '-', '-', '-', _err(x), None))
            continue
        size = x.get('image') or x.get('student')
        rows.append((s, size, x['batch'], _amp(x['amp']), x['train']['iters_per_s'],
                     _gib(x['train'])))
    return table(['model', 'size', 'batch', 'precision', 'iters/s', 'peak (GiB)'], rows) + [
        '`train_step` (preprocess, forward, backward, clip, step) of the CAT-Seg 384^2 and '
        'distillation (student 560^2, DINOv2-B/14 at 490^2) configs, random weights, at '
        'their per-GPU batch.', '']


def markdown(report: dict) -> str:
    """The whole report."""
    m = report['meta']
    where = f"{m['gpu']}, CUDA {m['cuda']}" if m['gpu'] else 'CPU (tool check only)'
    lines = ['# declip_mm GPU benchmark', '',
             f"{where}, torch {m['torch']}, median of {m['repeats']} after {m['warmup']} "
             f"warm-up, random weights, {m['seconds']:.0f} s in all"
             + (', **--quick** (tiny sizes: checks the tool, not the numbers)' * m['quick']), '']
    if 'encoder' in report:
        lines += ['## encode_dense throughput', ''] + md_encoder(report['encoder'])
    if 'fvit' in report:
        lines += ['## F-ViT', ''] + md_fvit(report['fvit'])
    train = [s for s in ('catseg', 'distill') if s in report]
    if train:
        lines += ['## Training iterations', ''] + md_train(report, train)
    return '\n'.join(lines)
