"""Checkpoint conversions behind ``tools/convert_checkpoint.py`` (one call per ``--from``).

* :func:`export_encoder_file`: a DeCLIP encoder to open_clip's or the official EVA-CLIP /
  DeCLIP layout (``declip_mm.checkpoint.export``);
* :func:`convert_clipself_fvit_file`: a CLIPSelf F-ViT detector (mmdet 2) to a ``DeCLIPFViT``
  checkpoint (``checkpoint/layouts/clipself_fvit.py``);
* :func:`convert_catseg_file`: the official DeCLIP CAT-Seg release (detectron2) to a
  ``DeCLIPCATSeg`` checkpoint (``checkpoint/layouts/catseg_official.py``).
"""
import json
from typing import Optional, Union

from ..checkpoint import read_checkpoint
from ..engine.atomic_io import atomic_torch_save
from ..utils.errors import ConfigError

ArchSpec = Union[str, dict, None]


def parse_arch(spec: Optional[str]) -> ArchSpec:
    """An arch name, a JSON file of the EVA-CLIP model-config form, or inline JSON."""
    if spec is None:
        return None
    try:
        if spec.lstrip().startswith('{'):
            return json.loads(spec)
        if spec.endswith('.json'):
            with open(spec, encoding='utf-8') as f:
                return json.load(f)
    except (OSError, ValueError) as err:
        raise ConfigError(f'--arch {spec}: {type(err).__name__}: {err}') from None
    return spec


def export_encoder_file(src: str, dst: str, layout: str = 'open_clip',
                        arch: ArchSpec = None) -> str:
    """Write ``src``'s encoder to ``dst`` in ``layout`` (``open_clip`` or ``official``),
    checked against ``arch`` when given; returns a one-line summary of what was written."""
    from ..checkpoint.export import export, summary
    out = export(read_checkpoint(src), layout, arch, src)
    atomic_torch_save(out, dst)
    return summary(out)


def convert_clipself_fvit_file(src: str, dst: str, config: Optional[str] = None) -> int:
    """CLIPSelf F-ViT checkpoint -> ``{'state_dict': ...}`` at ``dst``, checked against the
    model of the ``DeCLIPFViT`` ``config`` when given; returns the number of tensors."""
    from ..checkpoint.layouts.clipself_fvit import check_fits, convert_clipself_fvit
    out = convert_clipself_fvit(read_checkpoint(src))
    if config:
        from mmdet.registry import MODELS
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        init_default_scope('mmdet')
        check_fits(out, MODELS.build(Config.fromfile(config).model).state_dict())
    atomic_torch_save({'state_dict': out, 'meta': {'converted_from': 'clipself-fvit'}}, dst)
    return len(out)


def convert_catseg_file(src: str, dst: str, arch: ArchSpec = None) -> int:
    """Official DeCLIP CAT-Seg checkpoint -> ``DeCLIPCATSeg`` checkpoint at ``dst``; ``arch``
    names the CLIP size the file must hold (default ``EVA02-CLIP-B-16``; a dict: its vision
    width). Returns the number of tensors."""
    from ..checkpoint.layouts import catseg_official
    arch = arch or 'EVA02-CLIP-B-16'
    size = arch['vision_cfg']['width'] if isinstance(arch, dict) else arch
    sd = catseg_official.convert(read_checkpoint(src), size, source=src)
    atomic_torch_save(dict(state_dict=sd, meta=dict(converted_from=src)), dst)
    return len(sd)
