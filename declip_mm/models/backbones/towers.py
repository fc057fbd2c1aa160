"""How DeCLIPViT drives the two CLIP image-tower families, built by the libraries that own them.

* EVA02 (EVA-CLIP, DeCLIP's released weights): ``timm.models.eva.Eva`` held as ``visual.trunk``,
  the same key layout as open_clip's ``EVA02-*`` models; EVA-CLIP checkpoints are renamed on
  load (``declip_mm.checkpoint``).
* OpenAI-style ViTs: open_clip's ``VisionTransformer`` as ``visual`` (open_clip's key layout).

The ``*Ops`` classes hold no parameters: they know where each piece of a block lives, so that
``DeCLIPViT`` can run the ordinary blocks, then the decoupled last block, the same way for both.
Tensors are batch-first, ``(B, N, C)`` with the CLS token first.
"""
import math
from typing import Any, Dict, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..layers.pos_embed import resample_abs_pos_embed
from ..layers.rope import rope_angles

Grid = Tuple[int, int]
QKV = Tuple[Tensor, Tensor, Tensor]


def split_heads(x: Tensor, num_heads: int) -> Tensor:
    """``(B, N, C) -> (B, heads, N, C / heads)``."""
    b, n, c = x.shape
    return x.reshape(b, n, num_heads, c // num_heads).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    """``(B, heads, N, d) -> (B, N, heads * d)``."""
    b, h, n, d = x.shape
    return x.transpose(1, 2).reshape(b, n, h * d)


def _grid_of(pos_tokens: int) -> Grid:
    side = int(round(math.sqrt(pos_tokens)))
    if side * side != pos_tokens:
        raise ValueError(f'position embedding with {pos_tokens} grid tokens is not square')
    return side, side


class EvaOps:
    """EVA02 tower (timm ``Eva``): RoPE on patch tokens, sub-LN attention, SwiGLU MLP."""

    family = 'eva'

    def __init__(self, cfg: Dict[str, Any]):
        v = cfg['vision_cfg']
        self.width = v['width']
        self.num_heads = v['width'] // v.get('head_width', 64)
        self.patch_size = v['patch_size']
        self.pt_seq_len = v.get('pt_hw_seq_len', 16)
        self.embed_dim = cfg['embed_dim']
        self.default_scale = 1.0  # official EVA02 ss_attn: the scale is commented out

    def build(self, cfg: Dict[str, Any]) -> nn.Module:
        from timm.models.eva import Eva
        v = cfg['vision_cfg']
        subln = bool(v.get('subln', True))
        trunk = Eva(
            img_size=v['image_size'], patch_size=v['patch_size'], num_classes=cfg['embed_dim'],
            embed_dim=v['width'], depth=v['layers'], num_heads=self.num_heads,
            mlp_ratio=v.get('mlp_ratio', 2.6667), qkv_bias=v.get('qkv_bias', True), qkv_fused=False,
            swiglu_mlp=bool(v.get('naiveswiglu', True)), scale_mlp=subln, scale_attn_inner=subln,
            use_rot_pos_emb=bool(v.get('rope', True)), ref_feat_shape=(self.pt_seq_len,) * 2,
            global_pool='token', dynamic_img_size=True)
        return nn.ModuleDict({'trunk': trunk})

    @staticmethod
    def blocks(visual: nn.Module) -> nn.ModuleList:
        return visual['trunk'].blocks

    def embed(self, visual: nn.Module, x: Tensor) -> Tuple[Tensor, Grid]:
        trunk = visual['trunk']
        x = trunk.patch_embed(x)  # (B, H, W, C): dynamic_img_size makes it channels-last
        b, h, w, c = x.shape
        x = torch.cat([trunk.cls_token.expand(b, -1, -1), x.reshape(b, h * w, c)], dim=1)
        pos = trunk.pos_embed
        pos = resample_abs_pos_embed(pos, _grid_of(pos.shape[1] - 1), (h, w))
        return trunk.pos_drop(x + pos), (h, w)

    def block_kwargs(self, visual: nn.Module, grid: Grid, ref: Tensor) -> Dict[str, Any]:
        if visual['trunk'].rope is None:
            return {}
        ang = rope_angles(grid, self.width // self.num_heads, self.pt_seq_len).to(ref.device)
        # timm's Eva blocks take the table as cat([sin, cos]); applied to patch tokens only.
        return {'rope': torch.cat([ang.sin(), ang.cos()], dim=-1).to(ref.dtype)}

    @staticmethod
    def block_forward(block: nn.Module, x: Tensor, **kwargs) -> Tensor:
        """An ordinary block: timm's own forward (its attention already runs through SDPA)."""
        return block(x, **kwargs)

    def qkv(self, block: nn.Module, x: Tensor) -> QKV:
        h, attn = block.norm1(x), block.attn
        return tuple(split_heads(p(h), self.num_heads) for p in (attn.q_proj, attn.k_proj, attn.v_proj))

    @staticmethod
    def attn_out(block: nn.Module, o: Tensor) -> Tensor:
        o = block.attn.proj(block.attn.norm(o))
        return o if block.gamma_1 is None else block.gamma_1 * o

    @staticmethod
    def mlp_residual(block: nn.Module, x: Tensor) -> Tensor:
        y = block.mlp(block.norm2(x))
        return x + (y if block.gamma_2 is None else block.gamma_2 * y)

    def value_only(self, block: nn.Module, x: Tensor) -> Tensor:
        """MaskCLIP-style value path that keeps the residual and the MLP."""
        v = block.attn.v_proj(block.norm1(x))
        return self.mlp_residual(block, x + self.attn_out(block, v))

    @staticmethod
    def head(visual: nn.Module, tokens: Tensor) -> Tensor:
        trunk = visual['trunk']
        return trunk.head(trunk.fc_norm(trunk.norm(tokens)))


class OpenAIOps:
    """OpenAI-style CLIP ViT (open_clip ``VisionTransformer``): fused in-proj, no RoPE."""

    family = 'openai'

    def __init__(self, cfg: Dict[str, Any]):
        v = cfg['vision_cfg']
        self.width = v['width']
        self.num_heads = v['width'] // v.get('head_width', 64)
        self.patch_size = v['patch_size']
        self.embed_dim = cfg['embed_dim']
        self.default_scale = (self.width // self.num_heads) ** -0.5  # official OpenAI path scales

    def build(self, cfg: Dict[str, Any]) -> nn.Module:
        from open_clip.model import _build_vision_tower
        vision = {k: v for k, v in cfg['vision_cfg'].items() if k != 'family'}
        return _build_vision_tower(cfg['embed_dim'], vision, quick_gelu=cfg.get('quick_gelu', False))

    @staticmethod
    def blocks(visual: nn.Module) -> nn.ModuleList:
        return visual.transformer.resblocks

    def embed(self, visual: nn.Module, x: Tensor) -> Tuple[Tensor, Grid]:
        x = visual.conv1(x)
        b, c, h, w = x.shape
        x = x.reshape(b, c, h * w).transpose(1, 2)
        cls = visual.class_embedding.to(x.dtype).expand(b, 1, -1)
        x = torch.cat([cls, x], dim=1)
        pos = visual.positional_embedding.unsqueeze(0)
        pos = resample_abs_pos_embed(pos, _grid_of(pos.shape[1] - 1), (h, w))
        return visual.ln_pre(visual.patch_dropout(x + pos.to(x.dtype))), (h, w)

    @staticmethod
    def block_kwargs(visual: nn.Module, grid: Grid, ref: Tensor) -> Dict[str, Any]:
        return {}

    def block_forward(self, block: nn.Module, x: Tensor, **kwargs) -> Tensor:
        """An ordinary block ``(B, N, C) -> (B, N, C)``, equal to ``block(x)`` to float rounding.

        The attention runs through ``scaled_dot_product_attention`` instead of the block's
        ``nn.MultiheadAttention``: without gradients in eval mode (frozen towers: F-ViT's
        backbone, a distillation teacher) that module takes torch's native fast path, which on
        CPU materialises every ``N x N`` map (timings: README.md, Performance).
        """
        q, k, v = self.qkv(block, x)
        drop = block.attn.dropout if block.training else 0.0
        o = F.scaled_dot_product_attention(q, k, v, dropout_p=drop)
        return self.mlp_residual(block, x + self.attn_out(block, merge_heads(o)))

    def qkv(self, block: nn.Module, x: Tensor) -> QKV:
        attn = block.attn
        q, k, v = F.linear(block.ln_1(x), attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
        return split_heads(q, self.num_heads), split_heads(k, self.num_heads), split_heads(v, self.num_heads)

    @staticmethod
    def attn_out(block: nn.Module, o: Tensor) -> Tensor:
        return block.ls_1(block.attn.out_proj(o))

    @staticmethod
    def mlp_residual(block: nn.Module, x: Tensor) -> Tensor:
        return x + block.ls_2(block.mlp(block.ln_2(x)))

    def value_only(self, block: nn.Module, x: Tensor) -> Tensor:
        attn = block.attn
        v = F.linear(block.ln_1(x), attn.in_proj_weight, attn.in_proj_bias)[..., -self.width:]
        return self.mlp_residual(block, x + self.attn_out(block, v))

    @staticmethod
    def head(visual: nn.Module, tokens: Tensor) -> Tensor:
        tokens = visual.ln_post(tokens)
        return tokens @ visual.proj if visual.proj is not None else tokens


def make_ops(cfg: Dict[str, Any]) -> 'EvaOps | OpenAIOps':
    """Pick the tower driver for an arch config."""
    from .archs import is_eva
    return EvaOps(cfg) if is_eva(cfg) else OpenAIOps(cfg)


def run_block(ops: 'EvaOps | OpenAIOps', block: nn.Module, x: Tensor, kwargs: Dict[str, Any],
              checkpointed: bool = False) -> Tensor:
    """One ordinary transformer block (``ops.block_forward``), optionally with activation
    checkpointing."""
    if checkpointed and x.requires_grad:
        from torch.utils.checkpoint import checkpoint
        return checkpoint(lambda t: ops.block_forward(block, t, **kwargs), x, use_reentrant=False)
    return ops.block_forward(block, x, **kwargs)

