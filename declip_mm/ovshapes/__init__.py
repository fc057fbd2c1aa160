"""The OV-Shapes harness: probes, the main job, the ladder, pretraining, export, data.

Each job is a module of typed functions; ``tools/ovshapes/*.py`` are their command lines. The
world itself (scenes, splits, datasets, the tiny CLIP's architecture) is
``declip_mm.datasets.ov_shapes``. Import the modules directly
(``from declip_mm.ovshapes import main_job``); this file imports nothing.
"""
