"""Tiny architectures for tests, demos and the offline proving ground (random weights)."""
TINY_TEXT = dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=2)

TINY_EVA = dict(embed_dim=32, text_cfg=TINY_TEXT,
                vision_cfg=dict(image_size=32, layers=4, width=64, head_width=16, patch_size=8,
                                mlp_ratio=2.6667, rope=True, subln=True, naiveswiglu=True,
                                pt_hw_seq_len=4))
"""EVA02-style: RoPE, sub-LN, SwiGLU; 4 blocks of width 64, patch 8, 4x4 pretraining grid."""

TINY_VIT = dict(embed_dim=32, quick_gelu=True, text_cfg=TINY_TEXT,
                vision_cfg=dict(image_size=32, layers=4, width=64, head_width=16, patch_size=8))
"""OpenAI-style (open_clip VisionTransformer): 4 blocks of width 64, patch 8."""
