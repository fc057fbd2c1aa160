"""Markdown report of the benchmark (``tools/benchmark.py``): one renderer per section."""
import statistics

PEER_FVLM = dict(
    source='wusize/CLIM F-VLM, same machine kind, random weights, 640^2, batch 1, 2 threads; '
           'not measured by this run',
    train=dict(wall_s='8.0-8.5', cpu_s=16, peak_rss_gib=2.9),
    infer=dict(wall_s=5.2, cpu_s=9.7, peak_rss_gib=2.0))


def table(header: list, rows: list) -> list:
    """Markdown table lines; floats with 3 significant digits, ``-`` for missing cells."""
    cell = lambda x: '-' if x is None else f'{x:.3g}' if isinstance(x, float) else str(x)  # noqa
    return (['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
            + ['| ' + ' | '.join(cell(c) for c in row) + ' |' for row in rows] + [''])


def md_encoder(r: dict) -> list:
    """Section 1: per-size times and DeCLIP / plain ratios."""
    rows = [(x['size'], x['tokens'], x['plain']['wall_s'], x['declip']['wall_s'],
             x['ratio_wall'], x['ratio_cpu'], f"<= {r['target_ratio']}") for x in r['rows']]
    return table(['size', 'tokens', 'plain (s)', 'DeCLIP (s)', 'ratio wall', 'ratio CPU',
                  'target'], rows) + [
        'Same `.visual` module and weights. The plain forward uses a position embedding '
        'resampled once before timing; DeCLIP resamples on every call. Calls alternate. The '
        "plain forward's `nn.MultiheadAttention` takes torch's native fast path without "
        'gradients (it materialises the N x N maps on CPU); DeCLIP runs the same blocks '
        'through SDPA (`OpenAIOps.block_forward`), hence ratios below 1 at large sizes.', '']


def md_csa(r: dict) -> list:
    """Section 2: time / memory ratios and the output difference."""
    s, e = r['sdpa'], r['explicit']
    ref = r.get('error_vs_float64', {})
    row = (f"{r['size']}^2", r['tokens'], s['wall_s'], e['wall_s'],
           r['time_ratio_explicit_over_sdpa'], s['peak_extra_mib'], e['peak_extra_mib'],
           r['memory_ratio_explicit_over_sdpa'], f"{r['max_abs_diff']:.2e}",
           *(f'{ref[i]:.2e}' if i in ref else None for i in ('sdpa', 'explicit')))
    return table(['image', 'tokens', 'SDPA (s)', 'explicit (s)', 'time ratio expl/SDPA',
                  'SDPA peak (MiB)', 'explicit peak (MiB)', 'memory ratio', 'max abs diff',
                  'SDPA err vs float64', 'explicit err vs float64'], [row]) + [
        '`self_self_attention` (SDPA, the path DeCLIPViT runs) vs `explicit_self_self_attention` '
        '(materialised softmax maps); tokens include CLS; q, k, v ~ N(0, 0.5^2), 12 heads x 64, '
        f"scale 1 (EVA02 path). Memory: {r['memory_method']}, from just before the warm-up. "
        'Errors vs float64: max |float32 output - explicit formulation in float64|.', '']


def _median(values) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _phase(runs: list, key: str, field: str):
    return _median(x[key][field] for x in runs if key in x)


def _ratio(pairs: list, key_a: str, key_b: str):
    """Median over ``(x, y)`` pairs of ``x[key_a] / y[key_b]`` wall seconds."""
    return _median(x[key_a]['wall_s'] / y[key_b]['wall_s'] for x, y in pairs
                   if key_a in x and key_b in y)


def fvit_summary(r: dict) -> dict:
    """Medians over the rounds of ``run_fvit``: per phase ``ours`` / ``before`` / ``peer``
    ``(wall, CPU)``, ratios ``before / ours`` (within each process) and ``ours / peer`` (per
    round), peak RSS; per stage the seconds of each, and the NMS candidate counts."""
    ours, peer = r['ours'], r.get('peer') or []
    out = {}
    for ph in ('infer', 'train'):
        after, before = f'{ph}_after', f'{ph}_before'
        out[ph] = dict(
            ours=(_phase(ours, after, 'wall_s'), _phase(ours, after, 'cpu_s')),
            before=(_phase(ours, before, 'wall_s'), _phase(ours, before, 'cpu_s')),
            peer=(_phase(peer, after, 'wall_s'), _phase(peer, after, 'cpu_s')),
            before_over_ours=_ratio(list(zip(ours, ours)), before, after),
            ours_over_peer=_ratio(list(zip(ours, peer)), after, after),
            rss=(_median(x.get(f'{ph}_peak_rss_gib') for x in ours),
                 _median(x.get(f'{ph}_peak_rss_gib') for x in peer)))
    stages = {}
    for key, runs, tag in (('ours', ours, 'after'), ('before', ours, 'before'),
                           ('peer', peer, 'after')):
        for x in runs:
            for stage, sec in x.get(f'stages_{tag}', {}).items():
                stages.setdefault(stage, {}).setdefault(key, []).append(sec)
            if f'nms_candidates_{tag}' in x:
                stages.setdefault('NMS candidates (score > 0.01)', {}).setdefault(
                    key, []).append(x[f'nms_candidates_{tag}'])
    out['stages'] = {s: {k: _median(v) for k, v in d.items()} for s, d in stages.items()}
    return out


def md_fvit(r: dict) -> list:
    """Section 3a: F-ViT (after / before the block driver) beside the peer, and its stages."""
    s, measured = fvit_summary(r), bool(r.get('peer'))
    rows = []
    for ph in ('infer', 'train'):
        p = s[ph]
        if p['ours'][0] is None:
            continue
        peer = p['peer'] if measured else (PEER_FVLM[ph]['wall_s'], PEER_FVLM[ph]['cpu_s'])
        rows.append((ph, *p['ours'], p['before'][0], p['before_over_ours'], *peer,
                     p['ours_over_peer'], p['rss'][0],
                     p['rss'][1] if measured else PEER_FVLM[ph]['peak_rss_gib']))
    x = r['ours'][0]
    lines = table(['phase', 'ours (s)', 'ours CPU (s)', 'before (s)', 'before / ours',
                   'peer (s)', 'peer CPU (s)', 'ours / peer', 'ours RSS (GiB)',
                   'peer RSS (GiB)'], rows)
    lines += [f"`{x['arch']}` at {x['image']}^2: `test_step` / `train_step` of "
              '`configs/ovcoco/declip_fvit.py` with random weights (see below). "before": the '
              'same model, its ordinary blocks through `nn.MultiheadAttention` (the code before '
              'the SDPA block driver), timed call by call alternately in the same process. '
              + (f"Peer: wusize/CLIM's ViT-B/16 F-VLM run unpatched in its own process, "
                 f"alternating with ours over {len(r['peer'])} round(s); ratios are medians of "
                 'per-round ratios.' if measured else f"Peer: {PEER_FVLM['source']}."), '']
    names = [k for k in s['stages']]
    lines += ['### F-ViT inference stages (s, medians)', '']
    lines += table(['stage', 'ours', 'before', 'peer'], [
        (n, *(s['stages'][n].get(k) for k in ('ours', 'before', 'peer'))) for n in names])
    lines += ['The post-processing cost follows the number of (box, class) pairs above the '
              'score threshold: with random weights the fused scores are flat, so it is a '
              'property of the random model, not of the code (both use mmdet\'s '
              '`multiclass_nms`). "ViT + pyramid adapter" includes the decoupled last block '
              '(ours: csa, two attentions; the peer: value-only, none).', '']
    return lines


def md_models(report: dict, models: list) -> list:
    """Section 3b: training iterations of CAT-Seg and the distiller."""
    rows = [(s, report[s]['train']['wall_s'], report[s]['train']['cpu_s'],
             report[s]['train']['peak_rss_gib']) for s in models]
    return table(['model', 'train wall (s)', 'CPU (s)', 'peak RSS (GiB)'], rows) + [
        '`train_step` (preprocess, forward, backward, grad clip, optimizer step) of the '
        'repository configs, random weights: checkpoints dropped, SyncBN -> BN, AMP -> float32 '
        "`OptimWrapper`. Peak RSS is the worker process's.", '']


def markdown(report: dict) -> str:
    """The whole markdown report; a failed section shows its error."""
    m, last_line = report['meta'], lambda err: err.strip().splitlines()[-1]
    lines = ['# declip_mm CPU benchmark', '',
             f"torch {m['torch']}, {m['threads']} threads, median of {m['repeats']} after "
             f"{m['warmup']} warm-up, random weights, batch 1, float32"
             + (', **--quick** (tiny sizes: checks the tool, not the numbers)' * m['quick']), '']
    titles = dict(encoder='DeCLIPViT.encode_dense vs plain open_clip tower (ViT-B-16, csa)',
                  csa='csa attention: SDPA vs explicit N x N maps',
                  fvit='F-ViT beside the CLIM F-VLM peer (ViT-B/16, 640^2)',
                  models='Training iterations')
    for s, render in (('encoder', md_encoder), ('csa', md_csa), ('fvit', md_fvit)):
        if s in report:
            lines += [f'## {titles[s]}', '']
            lines += [f"failed: {last_line(report[s]['error'])}", ''] if 'error' in report[s] \
                else render(report[s])
    models = [s for s in ('catseg', 'distill') if s in report]
    if models:
        lines += [f"## {titles['models']}", '']
        lines += [f"{s} failed: {last_line(report[s]['error'])}\n" for s in models
                  if 'error' in report[s]]
        ok = [s for s in models if 'error' not in report[s]]
        lines += md_models(report, ok) if ok else []
    profiled = [(s, report[s]) for s in ('fvit', 'catseg', 'distill') if s in report]
    profiled = [(s, (r['ours'][0] if s == 'fvit' else r).get('profile_train'))
                for s, r in profiled if 'error' not in r]
    for s, ops in ((s, ops) for s, ops in profiled if ops):
        lines += [f'### {s}: top ops by self CPU time (one training iteration)', '']
        lines += table(['op', 'self CPU (ms)', 'calls'], [
            (f"`{o['op']}`", o['self_cpu_ms'], o['calls']) for o in ops])
    return '\n'.join(lines)
