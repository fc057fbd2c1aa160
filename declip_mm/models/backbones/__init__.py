from .archs import ARCHS, resolve_arch
from .declip_vit import MODES, DeCLIPViT

__all__ = ['DeCLIPViT', 'ARCHS', 'MODES', 'resolve_arch']
