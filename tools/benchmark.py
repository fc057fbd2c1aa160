"""CPU benchmark of declip_mm; every ratio is measured side by side in one run.

    python tools/benchmark.py [--only encoder,csa,fvit,catseg,distill] [--quick] [--profile]
        [--repeats 3] [--warmup 1] [--threads 2] [--fvit-arch NAME] [--clim-repo PATH]
        [--peer-rounds 2] [--out-json F] [--out-md F]

The command line of ``declip_mm.benchmarks.runner`` (options: its ``parse_args``; sections,
methods and the report are described there). Writes ``outputs/benchmark/benchmark.{json,md}``.
``--device cuda`` runs the GPU benchmark instead (``declip_mm.benchmarks.gpu``).
"""
from declip_mm.benchmarks.runner import main

if __name__ == '__main__':
    main()
