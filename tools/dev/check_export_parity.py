"""Export back to the official layout, checked against the official EVA-CLIP tower itself.

The official modules are imported at run time from a local clone (nothing of theirs is copied
into declip_mm)::

    python tools/dev/check_export_parity.py --official-repo /tmp/declip_official

(the official ``rope.py`` imports ``einops``: install it in the environment that runs this).

For the tiny EVA02 tower and EVA02-CLIP-B-16 (random weights): the official
``EVAVisionTransformer`` is saved as DeCLIP's ``epoch_N.pt``, loaded into ``DeCLIPViT`` through
``init_cfg``, written back with ``declip_mm.checkpoint.export.to_official``, and

* the names and every tensor (RoPE buffers included) must equal the official state dict's;
* a fresh official tower must load the export strictly and give the same outputs.

Prints one line per case; exits 1 on any difference.
"""
import argparse
import os
import sys
import tempfile

from check_fidelity import (TINY_EVA_ARCH, build_official, build_ours,  # noqa: E402
                            import_official, randomize)

from declip_mm.apis.cli import run_main  # noqa: E402

import torch  # noqa: E402

CASES = {'eva-tiny': dict(TINY_EVA_ARCH, vision_cfg=dict(TINY_EVA_ARCH['vision_cfg'],
                                                         image_size=48)),
         'eva-b16': 'EVA02-CLIP-B-16'}


def check_case(name: str, arch, mods, folder: str, seed: int) -> bool:
    from declip_mm.checkpoint.export import to_official
    from declip_mm.models.backbones.archs import resolve_arch
    cfg = resolve_arch(arch)
    official = build_official('eva', cfg, mods).eval()
    randomize(official, seed)
    ref = {'visual.' + k: v.clone() for k, v in official.state_dict().items()}
    path = os.path.join(folder, f'{name}.pt')
    torch.save({'epoch': 6, 'name': 'export', 'state_dict': ref}, path)
    out = to_official(build_ours(arch, 'vanilla', path).state_dict(), arch)
    same_names = sorted(out) == sorted(ref)
    equal = same_names and all(torch.equal(out[k], ref[k]) for k in ref)
    fresh = build_official('eva', cfg, mods).eval()
    fresh.load_state_dict({k[len('visual.'):]: v for k, v in out.items()}, strict=True)
    x = torch.randn(2, 3, cfg['vision_cfg']['image_size'], cfg['vision_cfg']['image_size'],
                    generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        diff = (fresh(x) - official(x)).abs().max().item()
    rope = sum('.rope.' in k for k in ref)
    ok = equal and diff == 0.0
    print(f'{"ok  " if ok else "FAIL"} {name}: {len(ref)} tensors ({rope} RoPE buffers), same '
          f'names {same_names}, all equal {equal}, strict official load, forward max|diff| '
          f'{diff:.3e}', flush=True)
    return ok


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--official-repo', required=True,
                        help='local clone of xiaomoguhz/DeCLIP (its src/open_clip is imported)')
    parser.add_argument('--cases', nargs='+', default=list(CASES), choices=list(CASES))
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    mods = import_official(os.path.abspath(args.official_repo))
    with tempfile.TemporaryDirectory() as folder:
        failed = sum(not check_case(n, CASES[n], mods, folder, args.seed) for n in args.cases)
    if failed:
        sys.exit(1)


if __name__ == '__main__':
    run_main(main)
