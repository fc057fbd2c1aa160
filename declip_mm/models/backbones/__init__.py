from .archs import ARCHS, resolve_arch
from .declip_vit import MODES, DeCLIPFeatures, DeCLIPViT

__all__ = ['DeCLIPViT', 'DeCLIPFeatures', 'ARCHS', 'MODES', 'resolve_arch']
