from .decoupled_attention import (DECOUPLED_MODES, explicit_self_self_attention,
                                  self_self_attention, self_self_attention_maps)
from .pos_embed import resample_abs_pos_embed
from .rope import apply_rope, rope_angles

__all__ = ['DECOUPLED_MODES', 'self_self_attention', 'self_self_attention_maps',
           'explicit_self_self_attention', 'resample_abs_pos_embed', 'rope_angles', 'apply_rope']
