"""The CPU benchmark behind ``tools/benchmark.py`` (``runner``): timing and the csa workers
(``kernels``), the model sections (``sections``, ``models``) and the markdown (``report``).
This file imports nothing."""
