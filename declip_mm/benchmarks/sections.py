"""The benchmark's model sections, each run in a worker process: ``encode_dense`` against
open_clip's forward, F-ViT (and the peer F-VLM) inference and training, CAT-Seg and the
distiller's training iterations."""
import statistics

from .kernels import peak_rss_gib, time_calls, top_ops
from .models import build_model_and_optim


def plain_forward(visual, pos):
    """open_clip's own tower forward with position embedding ``pos`` swapped in for the call."""
    def run(x):
        saved = visual.positional_embedding
        visual.positional_embedding = pos
        try:
            return visual(x)
        finally:
            visual.positional_embedding = saved
    return run


def bench_encoder(args) -> dict:
    """``encode_dense`` vs the plain open_clip forward of the same tower, per image size."""
    import torch
    from ..models.backbones.declip_vit import DeCLIPViT
    from ..models.layers.pos_embed import resample_abs_pos_embed
    torch.manual_seed(0)
    model = DeCLIPViT(arch='ViT-B-16', mode='csa').eval()
    visual, p = model.visual, model.patch_size
    side = int(round((visual.positional_embedding.shape[0] - 1) ** 0.5))
    rows = []
    for size in args.encoder_sizes:
        x = torch.randn(1, 3, size, size)
        with torch.no_grad():
            pos = resample_abs_pos_embed(visual.positional_embedding[None], (side, side),
                                         (size // p, size // p))[0]
            plain = plain_forward(visual, torch.nn.Parameter(pos, requires_grad=False))
            t = time_calls({'plain': lambda: plain(x), 'declip': lambda: model.encode_dense(x)},
                           args.warmup, args.repeats)
        rows.append(dict(size=size, tokens=1 + (size // p) ** 2, plain=t['plain'],
                         declip=t['declip'],
                         ratio_wall=t['declip']['wall_s'] / t['plain']['wall_s'],
                         ratio_cpu=t['declip']['cpu_s'] / t['plain']['cpu_s']))
    return dict(arch='ViT-B-16', mode='csa', target_ratio=1.05, rows=rows)


def bench_model(args, section: str) -> dict:
    """Training iterations of CAT-Seg or the distiller; peak RSS after them."""
    model, optim, batch, info = build_model_and_optim(section, args)
    out = dict(info, built_rss_gib=peak_rss_gib())
    model.train()
    t = time_calls({'train': lambda: model.train_step(batch(), optim)}, args.warmup, args.repeats)
    out['train'] = dict(t['train'], peak_rss_gib=peak_rss_gib())
    if args.profile:
        out['profile_train'] = top_ops(lambda: model.train_step(batch(), optim))
    return out


def bench_fvit(args, peer: bool) -> dict:
    """F-ViT (or, ``peer``, CLIM's F-VLM): inference, then training iterations, with the
    inference stage times; for an OpenAI-style tower also "before" variants whose ordinary
    blocks run through ``nn.MultiheadAttention`` (timed call by call alternately)."""
    import torch
    from .models import StageTimer, build_peer_fvlm, det_batch, module_blocks
    if peer:
        model, optim = build_peer_fvlm(args.clim_repo)
        batch, info = (lambda: det_batch(640)), dict(image=640, arch='ViT-B-16 (CLIM F-VLM)')
    else:
        model, optim, batch, info = build_model_and_optim('fvit', args)
    out = dict(info, built_rss_gib=peak_rss_gib())
    tags = ('after', 'before') if not peer and model.backbone.ops.family == 'openai' else (
        'after',)
    timer, stages = StageTimer(model, peer), {tag: [] for tag in tags}

    def call(tag: str, fn):
        def run():
            timer.reset()
            if tag == 'before':
                with module_blocks(model.backbone):
                    fn()
            else:
                fn()
            stages[tag].append((dict(timer.times), sum(timer.candidates)))
        return run

    model.eval()
    with torch.no_grad():
        t = time_calls({tag: call(tag, lambda: model.test_step(batch())) for tag in tags},
                       args.warmup, args.repeats)
    out.update({f'infer_{tag}': t[tag] for tag in tags}, infer_peak_rss_gib=peak_rss_gib())
    for tag in tags:
        runs = stages[tag][args.warmup:]
        out[f'stages_{tag}'] = {k: statistics.median(r[0].get(k, 0.0) for r in runs)
                                for k in runs[0][0]}
        out[f'nms_candidates_{tag}'] = statistics.median(r[1] for r in runs)
    timer.detach()
    if args.fvit_infer_only:
        return out
    model.train()
    t = time_calls({tag: call(tag, lambda: model.train_step(batch(), optim)) for tag in tags},
                   args.warmup, args.repeats)
    out.update({f'train_{tag}': t[tag] for tag in tags}, train_peak_rss_gib=peak_rss_gib())
    if args.profile and not peer:
        out['profile_train'] = top_ops(lambda: model.train_step(batch(), optim))
    return out
