from .text_encoder import DeCLIPTextEncoder

__all__ = ['DeCLIPTextEncoder']
