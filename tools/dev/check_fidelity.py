"""Compare DeCLIPViT against the official xiaomoguhz/DeCLIP image towers, number by number.

The official modules are imported at run time from a local clone (nothing of theirs is copied
into declip_mm)::

    git clone https://github.com/xiaomoguhz/DeCLIP /tmp/declip_official
    python tools/dev/check_fidelity.py --official-repo /tmp/declip_official

What it does, for each tower (random weights, float32, CPU):

* builds the official tower (``src/open_clip/eva_clip/eva_vit_model.py`` ``EVAVisionTransformer``
  for EVA02, ``src/open_clip/transformer.py`` ``VisionTransformer`` for the OpenAI style) in a tiny
  configuration and at the real B/16 size, with ``xattn=False`` (xformers / apex / deepspeed
  are optional there and not needed);
* saves its weights as the official training code does (``{'epoch', 'name', 'state_dict':
  {'visual.' + k}}``, like DeCLIP's ``epoch_6.pt``) and, for EVA02, also in the raw EVA-CLIP
  layout (flat ``visual.*`` keys) and vision-only (no prefix);
* loads each file into ``DeCLIPViT`` through ``init_cfg=dict(type='Pretrained', ...)``;
* compares the official ``encode_dense(x, keep_shape=True, mode=m)`` with ours for every mode
  the official tower has (EVA02: qq kk vv csa all maskclip vanilla, unscaled, unnormalised;
  OpenAI: qq kk csa maskclip, scaled, normalised), the official plain forward with our
  ``encode_image``, at the pretraining size and at larger ones;
* RoPE: our table for square grids against the official ``VisionRotaryEmbeddingFast`` bit for
  bit, and for non-square grids that every position's row / column halves are the official
  square tables' (independent axes); then the official tower is run on a non-square input with
  its RoPE table composed from those official square tables, and compared with ours;
* text tower (``--text``): the official EVA-CLIP ``TextTransformer`` + tokenizer (EVA02) and
  open_clip-2.16 ``TextTransformer`` (OpenAI style), saved as ``text.*`` / top-level keys and
  loaded into ``DeCLIPTextEncoder``; normalised prompt embeddings compared.

Prints one line per case with the max abs difference and exits 1 if any exceeds ``--tol``.
"""
import argparse
import contextlib
import copy
import importlib
import io
import os
import sys
import tempfile
import time
import types
from functools import partial
from typing import Callable, Dict, List, Tuple

from declip_mm.apis.cli import run_main  # noqa: E402
from fidelity_text import arch_with_text, compare_text  # noqa: E402  (tools/dev/)

import torch  # noqa: E402
from torch import Tensor, nn  # noqa: E402

EVA_MODES = ('qq', 'kk', 'vv', 'csa', 'all', 'maskclip', 'vanilla')
OPENAI_MODES = ('qq', 'kk', 'csa', 'maskclip')

TINY_EVA_ARCH = dict(embed_dim=32, vision_cfg=dict(
    image_size=32, layers=4, width=64, head_width=16, patch_size=8, mlp_ratio=2.6667,
    rope=True, subln=True, naiveswiglu=True, pt_hw_seq_len=4))
TINY_VIT_ARCH = dict(embed_dim=32, quick_gelu=True, vision_cfg=dict(
    image_size=32, layers=4, width=64, head_width=16, patch_size=8))

# name -> (family, arch for DeCLIPViT, sizes (pixels, square), non-square size)
CASES: Dict[str, Tuple[str, object, Tuple[int, ...], Tuple[int, int]]] = {
    'eva-tiny': ('eva', TINY_EVA_ARCH, (32, 48, 64), (40, 72)),
    'eva-b16': ('eva', 'EVA02-CLIP-B-16', (224, 320, 448), (320, 448)),
    'openai-tiny': ('openai', TINY_VIT_ARCH, (32, 48, 64), (40, 72)),
    'openai-b16': ('openai', 'ViT-B-16', (224, 320, 448), (320, 448)),
}


# ---------------------------------------------------------------------- official modules
def _package(name: str, path: str) -> None:
    """Register an empty package whose submodules come from ``path`` (its ``__init__`` is
    skipped: the official package ``__init__`` pulls in the whole training stack)."""
    pkg = types.ModuleType(name)
    pkg.__path__ = [path]
    sys.modules[name] = pkg


def import_official(repo: str) -> Tuple[types.ModuleType, types.ModuleType, types.ModuleType]:
    """``(eva_vit_model, rope, transformer)`` modules of the official clone at ``repo``."""
    src = os.path.join(repo, 'src', 'open_clip')
    eva_dir = os.path.join(src, 'eva_clip')
    if not os.path.isfile(os.path.join(eva_dir, 'eva_vit_model.py')):
        from declip_mm.utils.errors import ConfigError
        raise ConfigError(f'{repo} is not a clone of xiaomoguhz/DeCLIP '
                          '(src/open_clip/eva_clip/eva_vit_model.py is missing)')
    _package('_official_open_clip', src)
    _package('_official_eva_clip', eva_dir)
    with contextlib.redirect_stdout(io.StringIO()):  # "Please pip install xformers"
        eva = importlib.import_module('_official_eva_clip.eva_vit_model')
        rope = importlib.import_module('_official_eva_clip.rope')
        oc = importlib.import_module('_official_open_clip.transformer')
    return eva, rope, oc


def build_official(family: str, cfg: dict, mods) -> nn.Module:
    """The official tower for a declip_mm arch config, built as the official factories do."""
    eva_mod, _, oc_mod = mods
    v, embed_dim = cfg['vision_cfg'], cfg['embed_dim']
    heads = v['width'] // v.get('head_width', 64)
    if family == 'eva':
        ln = sys.modules['_official_eva_clip.transformer'].LayerNorm
        return eva_mod.EVAVisionTransformer(
            img_size=v['image_size'], patch_size=v['patch_size'], num_classes=embed_dim,
            use_mean_pooling=False, init_values=None, patch_dropout=0.0, embed_dim=v['width'],
            depth=v['layers'], num_heads=heads, mlp_ratio=v['mlp_ratio'], qkv_bias=True,
            drop_path_rate=0.0, norm_layer=partial(ln, eps=1e-6), xattn=False, rope=True,
            postnorm=False, pt_hw_seq_len=v['pt_hw_seq_len'], intp_freq=True,
            naiveswiglu=True, subln=True)
    act = oc_mod.QuickGELU if cfg.get('quick_gelu') else nn.GELU
    return oc_mod.VisionTransformer(
        image_size=v['image_size'], patch_size=v['patch_size'], width=v['width'],
        layers=v['layers'], heads=heads, mlp_ratio=v.get('mlp_ratio', 4.0), output_dim=embed_dim,
        act_layer=act, norm_layer=oc_mod.LayerNorm)


@torch.no_grad()
def randomize(model: nn.Module, seed: int) -> None:
    """Give every parameter O(1)-scale random values (the official inits zero the biases and
    shrink the EVA head by 1e-3, which would hide differences)."""
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        if p.dim() >= 2 or name.endswith(('proj', 'pos_embed', 'positional_embedding')):
            fan_in = p.shape[-1] if p.dim() >= 2 and not name.endswith('proj') else p.shape[0]
            if 'patch_embed' in name or 'conv1' in name:
                fan_in = p[0].numel()
            p.copy_(torch.randn(p.shape, generator=g) * fan_in ** -0.5)
        elif 'norm' in name or 'ln' in name:
            base = 1.0 if name.endswith('weight') else 0.0
            p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
        else:  # biases, class / cls tokens, q_bias / v_bias
            p.copy_(0.1 * torch.randn(p.shape, generator=g))


def save_layouts(official: nn.Module, family: str, folder: str) -> Dict[str, str]:
    """Write the official weights in the layouts DeCLIP / EVA-CLIP distribute."""
    sd = {k: v.clone() for k, v in official.state_dict().items()}
    files = {'declip': {'epoch': 6, 'name': 'fidelity', 'state_dict':
                        {'visual.' + k: v for k, v in sd.items()}}}
    if family == 'eva':
        files['eva-clip'] = {'visual.' + k: v for k, v in sd.items()}
        files['eva-vision-only'] = dict(sd)
    paths = {}
    for name, obj in files.items():
        paths[name] = os.path.join(folder, f'{family}_{name}.pt')
        torch.save(obj, paths[name])
    return paths


# ---------------------------------------------------------------------- ours
def build_ours(arch, mode: str, path: str) -> nn.Module:
    from declip_mm.models.backbones import DeCLIPViT
    model = DeCLIPViT(arch, mode=mode, init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    return model.eval()


# ---------------------------------------------------------------------- RoPE
def official_rope_table(rope_mod, half_head_dim: int, pt: int, ft: int, side: int,
                        head_dim: int) -> Tuple[Tensor, Tensor]:
    """``(cos, sin)`` ``(side*side, head_dim)`` from the official ``VisionRotaryEmbeddingFast``."""
    with contextlib.redirect_stdout(io.StringIO()):
        rope = rope_mod.VisionRotaryEmbeddingFast(dim=half_head_dim, pt_seq_len=pt, ft_seq_len=ft)
        return rope.recalculate(torch.zeros(1, 1, side * side, head_dim))


def check_rope(rope_mod, head_dim: int, pt: int, ft: int, sides: List[int],
               rect: Tuple[int, int]) -> List[Tuple[str, float, bool]]:
    """Bit-for-bit comparison of our RoPE with the official tables."""
    from declip_mm.models.layers.rope import rope_angles
    rows = []
    half = head_dim // 2
    for n in sides:
        cos, sin = official_rope_table(rope_mod, half, pt, ft, n, head_dim)
        ang = rope_angles((n, n), head_dim, pt)
        exact = torch.equal(ang.cos(), cos) and torch.equal(ang.sin(), sin)
        diff = max((ang.cos() - cos).abs().max().item(), (ang.sin() - sin).abs().max().item())
        rows.append((f'rope square {n}x{n} == official (bit for bit)', diff, exact))
    h, w = rect
    ch, sh = official_rope_table(rope_mod, half, pt, ft, h, head_dim)
    cw, sw = official_rope_table(rope_mod, half, pt, ft, w, head_dim)
    ang = rope_angles((h, w), head_dim, pt).view(h, w, head_dim)
    row_ref = ch.view(h, h, head_dim)[:, :1, :half], sh.view(h, h, head_dim)[:, :1, :half]
    col_ref = cw.view(w, w, head_dim)[:1, :, half:], sw.view(w, w, head_dim)[:1, :, half:]
    exact_r = (torch.equal(ang[..., :half].cos(), row_ref[0].expand(h, w, half))
               and torch.equal(ang[..., :half].sin(), row_ref[1].expand(h, w, half)))
    exact_c = (torch.equal(ang[..., half:].cos(), col_ref[0].expand(h, w, half))
               and torch.equal(ang[..., half:].sin(), col_ref[1].expand(h, w, half)))
    rows.append((f'rope {h}x{w}: row half == official {h}x{h} rows (bit for bit)', 0.0, exact_r))
    rows.append((f'rope {h}x{w}: col half == official {w}x{w} cols (bit for bit)', 0.0, exact_c))
    return rows


def patch_official_rope(official: nn.Module, rope_mod, grid: Tuple[int, int]) -> Callable:
    """Make the official RoPE serve an ``H x W`` grid, composing its own square tables per axis
    (upstream takes ``int(sqrt(N))``, which is wrong for non-square grids). Returns an undo."""
    rope = official.rope
    h, w = grid
    head_dim, half = 2 * rope.dim, rope.dim
    ch, sh = official_rope_table(rope_mod, half, rope.pt_seq_len, rope.ft_seq_len, h, head_dim)
    cw, sw = official_rope_table(rope_mod, half, rope.pt_seq_len, rope.ft_seq_len, w, head_dim)

    def compose(sq_h: Tensor, sq_w: Tensor) -> Tensor:
        rows = sq_h.view(h, h, head_dim)[:, :1, :half].expand(h, w, half)
        cols = sq_w.view(w, w, head_dim)[:1, :, half:].expand(h, w, half)
        return torch.cat([rows, cols], -1).reshape(h * w, head_dim)

    table = (compose(ch, cw), compose(sh, sw))
    original = rope.recalculate
    rope.recalculate = lambda x: tuple(t.to(x) for t in table)
    return lambda: setattr(rope, 'recalculate', original)


# ---------------------------------------------------------------------- comparisons
def official_dense(official: nn.Module, family: str, x: Tensor, mode: str) -> Tensor:
    with contextlib.redirect_stdout(io.StringIO()):  # "Add a new rope freq of shape"
        if family == 'eva' and hasattr(official, 'rope') and official.rope is not None:
            official.rope.flag.zero_()  # upstream asserts <= 5 cached sizes per instance
        return official.encode_dense(x, keep_shape=True, mode=mode)


def compare_case(name: str, family: str, arch, sizes, rect, mods, folder: str, batch: int,
                 modes: Tuple[str, ...], seed: int, dtype: torch.dtype = torch.float32,
                 ref64: bool = False) -> List[Tuple[str, float, bool]]:
    from declip_mm.models.backbones.archs import resolve_arch
    cfg = resolve_arch(arch)
    torch.manual_seed(seed)
    official = build_official(family, cfg, mods).eval()
    randomize(official, seed)
    paths = save_layouts(official, family, folder)
    official.to(dtype)
    # float64 copy of the official tower: the exact answer both float32 codes approximate
    official64 = copy.deepcopy(official).double() if ref64 and dtype != torch.float64 else None
    rows = []
    gen = torch.Generator().manual_seed(seed + 1)
    normalize = family == 'openai'  # the official OpenAI encode_dense normalises, EVA's not
    for layout, path in paths.items():  # every layout loads to the same weights
        loaded = build_ours(arch, 'csa', path).to(dtype)
        x = torch.randn(batch, 3, sizes[-1], sizes[-1], generator=gen).to(dtype)
        with torch.no_grad():
            d = (loaded.encode_dense(x, normalize=normalize)
                 - official_dense(official, family, x, 'csa')).abs().max().item()
        rows.append((f'{name} load {layout} -> csa {sizes[-1]}px', d, None))
    ours = build_ours(arch, modes[0], paths['declip']).to(dtype)

    def run(mode: str, x: Tensor, **kw) -> Tensor:
        ours.mode = mode  # one model, the mode only switches the last block's path
        return ours.encode_dense(x, **kw)

    for size in sizes:
        x = torch.randn(batch, 3, size, size, generator=gen).to(dtype)
        with torch.no_grad():
            for mode in modes:
                t0 = time.perf_counter()
                ref = official_dense(official, family, x, mode)
                out = run(mode, x, normalize=normalize)
                d = (out - ref).abs().max().item()
                extra = ''
                if official64 is not None:
                    exact = official_dense(official64, family, x.double(), mode)
                    extra = (f', float32 error vs float64 official: ours '
                             f'{(out.double() - exact).abs().max().item():.2e}, official '
                             f'{(ref.double() - exact).abs().max().item():.2e}')
                rows.append((f'{name} {mode:8s} {size}x{size} (grid {size // ours.patch_size}, '
                             f'|ref|max {ref.abs().max().item():.2f}, '
                             f'{time.perf_counter() - t0:.1f}s{extra})', d, None))
            ref = official(x)
            out = ours.encode_image(x, normalize=False)
            rows.append((f'{name} encode_image vs official forward {size}x{size}',
                         (out - ref).abs().max().item(), None))
            if family == 'openai':  # vanilla dense: official tokens -> ln_post -> proj
                official.output_tokens = True
                _, tokens = official(x)
                official.output_tokens = False
                ref = official.ln_post(tokens) @ official.proj
                ref = torch.nn.functional.normalize(ref, dim=-1)
                g = ref.shape[1]
                ref = ref.transpose(1, 2).reshape(batch, -1, int(g ** 0.5), int(g ** 0.5))
                rows.append((f'{name} vanilla  {size}x{size} (official tokens + ln_post + proj)',
                             (run('vanilla', x) - ref).abs().max().item(), None))
    if family == 'eva':
        head_dim = cfg['vision_cfg']['width'] // (cfg['vision_cfg']['width']
                                                  // cfg['vision_cfg'].get('head_width', 64))
        pt = cfg['vision_cfg']['pt_hw_seq_len']
        ft = cfg['vision_cfg']['image_size'] // cfg['vision_cfg']['patch_size']
        sides = [s // cfg['vision_cfg']['patch_size'] for s in sizes]
        p = cfg['vision_cfg']['patch_size']
        rope_rows = check_rope(mods[1], head_dim, pt, ft, sides, (rect[0] // p, rect[1] // p))
        rows += [(f'{name} {r[0]}', r[1], r[2]) for r in rope_rows]
    # non-square input: the official tower handles H != W except for RoPE (patched above)
    x = torch.randn(batch, 3, *rect, generator=gen).to(dtype)
    undo = (patch_official_rope(official, mods[1], (rect[0] // cfg['vision_cfg']['patch_size'],
                                                    rect[1] // cfg['vision_cfg']['patch_size']))
            if family == 'eva' else (lambda: None))
    try:
        with torch.no_grad():
            for mode in ('csa', 'qq'):
                ref = official.encode_dense(x, keep_shape=True, mode=mode)
                d = (run(mode, x, normalize=normalize) - ref).abs().max().item()
                rows.append((f'{name} {mode:8s} {rect[0]}x{rect[1]} non-square'
                             + (' (official RoPE per axis)' if family == 'eva' else ''), d, None))
    finally:
        undo()
    return rows


@torch.no_grad()
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--official-repo', required=True,
                        help='local clone of xiaomoguhz/DeCLIP (its src/open_clip is imported)')
    parser.add_argument('--cases', nargs='+', default=list(CASES), choices=list(CASES))
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--tol', type=float, default=1e-5)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--b16-modes', nargs='+', default=None,
                        help='modes for the B/16 cases (default: all the official tower has)')
    parser.add_argument('--b16-sizes', nargs='+', type=int, default=None,
                        help='square input sides for the B/16 cases (default: 224 320 448)')
    parser.add_argument('--dtype', choices=['float32', 'float64'], default='float32',
                        help='float64 runs both codes in double: differences left are not '
                             'rounding but formula differences')
    parser.add_argument('--text', action='store_true', help='also compare the text towers')
    parser.add_argument('--ref64', action='store_true',
                        help='also report each float32 code\'s error against a float64 run of '
                             'the official tower')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    mods = import_official(os.path.abspath(args.official_repo))
    failed = 0
    with tempfile.TemporaryDirectory() as folder:
        for name in args.cases:
            family, arch, sizes, rect = CASES[name]
            modes = EVA_MODES if family == 'eva' else OPENAI_MODES
            if args.b16_modes and 'b16' in name:
                modes = tuple(m for m in modes if m in args.b16_modes)
            if args.b16_sizes and 'b16' in name:
                sizes = tuple(args.b16_sizes)
            rows = compare_case(name, family, arch, sizes, rect, mods, folder, args.batch, modes,
                                args.seed, getattr(torch, args.dtype), args.ref64)
            if args.text:
                rows += compare_text(name, family, arch_with_text(arch), folder, args.seed,
                                     getattr(torch, args.dtype), randomize)
            for label, diff, exact in rows:
                ok = exact if exact is not None else diff <= args.tol
                failed += not ok
                print(f'{"ok  " if ok else "FAIL"} max|diff| {diff:.3e}  {label}', flush=True)
    print(f'{failed} case(s) above tolerance {args.tol:g} ({args.dtype})' if failed else
          f'all cases within {args.tol:g} ({args.dtype})')
    if failed:
        sys.exit(1)


if __name__ == '__main__':
    run_main(main)
