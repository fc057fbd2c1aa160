"""DeCLIPViT: a CLIP ViT whose last block is decoupled into context and content features.

The ordinary blocks run as pretrained. From the layer-normed input of the last block the
query / key projections (pre-RoPE, heads merged, CLS dropped) are the *context* features; the
*content* features are the decoupled self-self attention (``layers.decoupled_attention``) applied
to the values, then the block's output projection, with no residual and no MLP. The content
tokens (CLS dropped) go through the final norm and the projection head: the language-aligned
dense map used by detectors and segmenters.

Attention scale (``attn_scale='auto'``), from the official xiaomoguhz/DeCLIP code (main branch):
the EVA02 path (``eva_vit_model.py``, ``Attention.ss_attn``) multiplies the Q Q^T / K K^T logits
by nothing (the ``self.scale`` factor is commented out), the OpenAI-ViT path
(``transformer.py``, ``ss_attn`` / ``csa_attn``) multiplies them by ``head_dim ** -0.5``. The ZSSS
(training-free) branch scales the EVA02 path as well: use ``attn_scale='head_dim'`` there.

Inputs whose sides are not multiples of the patch size are zero-padded at the bottom / right to
the next multiple (the token grid is ``ceil(H / p) x ceil(W / p)``).
"""
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from ...registry import MODELS
from ...utils.errors import ConfigError, DataError
from ..freezing import layer_groups, lock
from ..layers.decoupled_attention import (DECOUPLED_MODES, self_self_attention,
                                          self_self_attention_maps)
from .archs import resolve_arch
from .towers import Grid, make_ops, merge_heads, run_block

MODES = DECOUPLED_MODES + ('vanilla', 'maskclip')
# parameters after the last block (EVA02 / timm names, then OpenAI-style / open_clip names)
HEAD_PARAMS = ('.norm.', '.fc_norm.', '.head.', 'ln_post', 'visual.proj')


def tokens_to_map(tokens: Tensor, grid: Grid) -> Tensor:
    """``(B, H*W, C) -> (B, C, H, W)``, contiguous.

    Contiguous on purpose: a transposed view is channels-last in memory, convolutions keep that
    layout, and mmcv 2.1's compiled RoIAlign reads its input as if it were NCHW-contiguous, so
    it would pool garbage from the maps (and from an FPN on them).
    """
    b, _, c = tokens.shape
    return tokens.transpose(1, 2).reshape(b, c, *grid).contiguous()


DEFAULT_OUT_INDICES = (3, 5, 7, 11)


class DeCLIPFeatures(NamedTuple):
    """Named outputs of :meth:`DeCLIPViT.features` (one pass of the tower).

    Attributes:
        maps: one ``(B, width, h, w)`` map per ``out_indices`` block, in that order (the last
            block's in the tower's ``mode``); what a stock neck reads (``DeCLIPViT.forward``).
        dense: the content map ``(B, embed_dim, h, w)`` after the final norm and head
            (L2-normalised if ``normalize_dense``), or None when not asked for.
        context: the context features of the decoupled mode, one ``(B, width, h, w)`` map each
            (``(Q,)`` for qq, ``(Q, K)`` for csa, ``(Q, K, V)`` for all), or None.
    """
    maps: Tuple[Tensor, ...]
    dense: Optional[Tensor] = None
    context: Optional[Tuple[Tensor, ...]] = None


def resolve_out_indices(out_indices, depth: int) -> Tuple[int, ...]:
    """``out_indices`` as block indices in ``[0, depth)``; negative ones count from the end.

    Raises:
        ConfigError: not a list of integers, or an index outside ``[-depth, depth)``.
    """
    ok = isinstance(out_indices, (list, tuple)) and all(
        isinstance(i, int) and not isinstance(i, bool) for i in out_indices)
    if not ok or not out_indices:
        raise ConfigError(f'DeCLIPViT: out_indices must be a non-empty list of block indices, '
                          f'got {out_indices!r}')
    bad = [i for i in out_indices if not -depth <= i < depth]
    if bad:
        raise ConfigError(f'DeCLIPViT: out_indices {bad} out of range for {depth} blocks '
                          f'(valid: {-depth} to {depth - 1})')
    return tuple(i % depth for i in out_indices)


@MODELS.register_module()
class DeCLIPViT(BaseModule):
    """CLIP image tower with DeCLIP's decoupled last block.

    Args:
        arch: a name (``EVA02-CLIP-B-16``, ``EVA02-CLIP-L-14``, ``EVA02-CLIP-L-14-336``,
            ``ViT-B-16``, ``ViT-L-14``, ``ViT-L-14-336``, or another open_clip OpenAI-style
            config name) or a dict of the EVA-CLIP model-config form.
        mode: last-block mode: ``qq``, ``kk``, ``csa``, ``vv``, ``all`` (decoupled), ``vanilla``
            (the unmodified block: plain CLIP) or ``maskclip`` (value-only path that keeps the
            residual and the MLP).
        attn_scale: ``'auto'`` (per family, see the module docstring), ``'head_dim'``
            (``d ** -0.5``), ``None`` (1.0) or a float.
        out_indices: blocks whose output tokens ``forward`` returns as NCHW maps (negative ones
            count from the end; beyond the depth is a ``ConfigError``). The last index gives the
            last block's output *in the chosen mode*, as F-ViT uses it. ``None``: the B/16 taps
            (3, 5, 7, 11), taken modulo the depth for shallower towers.
        out_dense: :meth:`features` also returns the content map (``encode_dense``) unless
            told otherwise.
        out_context: :meth:`features` also returns the context features unless told otherwise.
        normalize_dense: L2-normalise the dense map returned by :meth:`features`.
        frozen: ``True`` freezes the whole tower, an int ``n`` the embeddings and first ``n``
            blocks, ``False`` nothing.
        trainable: fnmatch patterns of parameter names (relative to this module, e.g.
            ``'visual.trunk.blocks.*.attn.q_proj.*'``) left trainable inside a frozen tower.
        with_cp: activation checkpointing of the ordinary blocks.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH[, prefix=P])`` (alone or in a
            list) loads official DeCLIP, EVA-CLIP, open_clip and declip_mm checkpoints
            strictly (``declip_mm.checkpoint``).
    """

    def __init__(self,
                 arch: Union[str, dict] = 'EVA02-CLIP-B-16',
                 mode: str = 'csa',
                 attn_scale: Union[str, float, None] = 'auto',
                 out_indices: Optional[Sequence[int]] = None,
                 out_dense: bool = False,
                 out_context: bool = False,
                 normalize_dense: bool = True,
                 frozen: Union[bool, int] = False,
                 trainable: Optional[Sequence[str]] = None,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if mode not in MODES:
            raise ConfigError(f'DeCLIPViT: unknown mode {mode!r}; expected one of {MODES}')
        if out_context and mode not in DECOUPLED_MODES:
            raise ConfigError(f'DeCLIPViT: out_context needs a decoupled mode {DECOUPLED_MODES}, '
                             f'not {mode!r}')
        self.arch_cfg = resolve_arch(arch)
        self.ops = make_ops(self.arch_cfg)
        self.visual = self.ops.build(self.arch_cfg)
        self.mode = mode
        self.scale = self._resolve_scale(attn_scale)
        self.depth = len(self.ops.blocks(self.visual))
        self.out_indices = resolve_out_indices(out_indices, self.depth) \
            if out_indices is not None else tuple(i % self.depth for i in DEFAULT_OUT_INDICES)
        self.out_dense, self.out_context = out_dense, out_context
        self.normalize_dense = normalize_dense
        self.frozen, self.trainable, self.with_cp = frozen, list(trainable or []), with_cp
        self._apply_freeze()

    # ------------------------------------------------------------------ configuration
    @property
    def patch_size(self) -> int:
        return self.ops.patch_size

    @property
    def embed_dim(self) -> int:
        """Width of the text-aligned space (the dense map's channels)."""
        return self.ops.embed_dim

    @property
    def width(self) -> int:
        """Channels of the intermediate maps and of the context features."""
        return self.ops.width

    def _resolve_scale(self, attn_scale: Union[str, float, None]) -> float:
        if attn_scale == 'auto':
            return self.ops.default_scale
        if attn_scale == 'head_dim':
            return (self.ops.width // self.ops.num_heads) ** -0.5
        if attn_scale is None:
            return 1.0
        if isinstance(attn_scale, (int, float)):
            return float(attn_scale)
        raise ConfigError(f"DeCLIPViT: attn_scale must be 'auto', 'head_dim', None or a number, "
                         f'got {attn_scale!r}')

    def layer_groups(self) -> Dict[str, List[str]]:
        """The tower's parameters partitioned into ``embed``, ``block.i``, ``head``
        (``models.freezing.layer_groups``)."""
        return layer_groups(self, self.ops.blocks(self.visual), HEAD_PARAMS)

    def _apply_freeze(self) -> None:
        if self.frozen is False and not self.trainable:
            return
        groups = self.layer_groups()
        if self.frozen is True:
            keep = list(groups)
        elif self.frozen is False:
            keep = []
        else:
            keep = ['embed'] + [f'block.{i}' for i in range(int(self.frozen))]
        lock(self, [n for g in keep for n in groups[g]], self.trainable)

    def train(self, mode: bool = True) -> 'DeCLIPViT':
        super().train(mode)
        if self.frozen is True and not self.trainable:
            self.visual.eval()
        return self

    def init_weights(self) -> None:
        from ...checkpoint import init_with_pretrained, load_backbone_checkpoint
        init_with_pretrained(self, lambda path, prefix: load_backbone_checkpoint(
            self, path, prefix), super().init_weights)

    # ------------------------------------------------------------------ forward pieces
    def _pad(self, x: Tensor) -> Tensor:
        p = self.patch_size
        ph, pw = (-x.shape[-2]) % p, (-x.shape[-1]) % p
        return F.pad(x, (0, pw, 0, ph)) if ph or pw else x

    def _require_decoupled(self, what: str) -> None:
        if self.mode not in DECOUPLED_MODES:
            raise ConfigError(f'{what} need a decoupled mode, not {self.mode!r}')

    def _decoupled_block(self, block, x: Tensor) -> Tuple[Tensor, Tuple[Tensor, ...]]:
        """Last block in a decoupled mode: ``(content tokens incl. CLS, (q, k, v) per head)``."""
        q, k, v = self.ops.qkv(block, x)
        o = self_self_attention(q, k, v, self.mode, self.scale)
        return self.ops.attn_out(block, merge_heads(o)), (q, k, v)

    def forward_tokens(self, x: Tensor, keep: Sequence[int] = ()) -> Dict[str, object]:
        """Run the tower once.

        Args:
            x: ``(B, 3, H, W)`` normalised images.
            keep: indices of blocks whose output tokens to keep (the last one in ``mode``).

        Returns:
            dict with ``grid`` (H/p, W/p), ``tokens`` (last-block output, ``(B, 1+HW, C)``),
            ``kept`` ({index: ``(B, 1+HW, C)``}) and ``qkv`` (per-head ``(B, h, 1+HW, d)``
            projections of the last block, or None in vanilla / maskclip modes).
        """
        if x.dim() != 4 or x.shape[1] != 3:
            raise DataError(f'DeCLIPViT expects (B, 3, H, W) images, got shape {tuple(x.shape)}')
        if not bool(torch.isfinite(x).all()):  # one reduction: NaN would give empty outputs
            raise DataError('DeCLIPViT: the input images contain NaN or infinite values')
        if min(x.shape[-2:]) < self.patch_size:
            raise DataError(f'DeCLIPViT: image {tuple(x.shape[-2:])} is smaller than one '
                             f'{self.patch_size}x{self.patch_size} patch')
        tokens, grid = self.ops.embed(self.visual, self._pad(x))
        blocks = self.ops.blocks(self.visual)
        kwargs = self.ops.block_kwargs(self.visual, grid, tokens)
        kept, qkv = {}, None
        for i, block in enumerate(blocks[:-1]):
            tokens = run_block(self.ops, block, tokens, kwargs, self.with_cp and self.training)
            if i in keep:
                kept[i] = tokens
        last = blocks[-1]
        if self.mode == 'vanilla':
            tokens = self.ops.block_forward(last, tokens, **kwargs)
        elif self.mode == 'maskclip':
            tokens = self.ops.value_only(last, tokens)
        else:
            tokens, qkv = self._decoupled_block(last, tokens)
        kept[self.depth - 1] = tokens
        return dict(grid=grid, tokens=tokens, kept=kept, qkv=qkv)

    def dense_from_tokens(self, tokens: Tensor, grid: Grid, normalize: bool) -> Tensor:
        """Final norm + head on the patch tokens: ``(B, 1+HW, C) -> (B, D, H, W)``."""
        dense = self.ops.head(self.visual, tokens[:, 1:])
        if normalize:
            dense = F.normalize(dense, dim=-1)
        return tokens_to_map(dense, grid)

    def context_from_qkv(self, qkv: Tuple[Tensor, ...], grid: Grid) -> Tuple[Tensor, ...]:
        """Context features of the mode, heads merged, CLS dropped, as ``(B, C, H, W)`` maps."""
        which = {'qq': (0,), 'kk': (1,), 'vv': (2,), 'csa': (0, 1), 'all': (0, 1, 2)}[self.mode]
        return tuple(tokens_to_map(merge_heads(qkv[i])[:, 1:], grid) for i in which)

    # ------------------------------------------------------------------ public API
    def encode_dense(self, x: Tensor, normalize: bool = True) -> Tensor:
        """Content map ``(B, embed_dim, ceil(H/p), ceil(W/p))`` of ``x`` ``(B, 3, H, W)``."""
        out = self.forward_tokens(x)
        return self.dense_from_tokens(out['tokens'], out['grid'], normalize)

    def encode_dense_with_context(self, x: Tensor, normalize: bool = False
                                  ) -> Tuple[Tensor, Tuple[Tensor, ...]]:
        """``(content map, context maps)`` in one pass; the context as in
        :attr:`DeCLIPFeatures.context`."""
        self._require_decoupled('context features')
        out = self.forward_tokens(x)
        return (self.dense_from_tokens(out['tokens'], out['grid'], normalize),
                self.context_from_qkv(out['qkv'], out['grid']))

    def encode_image(self, x: Tensor, normalize: bool = True) -> Tensor:
        """Global CLIP embedding ``(B, embed_dim)``: the plain tower's CLS token after the head.

        Always runs the unmodified last block (the content teacher's forward), whatever ``mode``.
        """
        tokens, grid = self.ops.embed(self.visual, self._pad(x))
        kwargs = self.ops.block_kwargs(self.visual, grid, tokens)
        for block in self.ops.blocks(self.visual):
            tokens = self.ops.block_forward(block, tokens, **kwargs)
        emb = self.ops.head(self.visual, tokens[:, 0])
        return F.normalize(emb, dim=-1) if normalize else emb

    def attention_maps(self, x: Tensor) -> Tensor:
        """Explicit last-block attention ``(B, heads, N, N)`` of a decoupled mode (for analysis)."""
        self._require_decoupled('attention maps')
        tokens, grid = self.ops.embed(self.visual, self._pad(x))
        blocks = self.ops.blocks(self.visual)
        kwargs = self.ops.block_kwargs(self.visual, grid, tokens)
        for block in blocks[:-1]:
            tokens = self.ops.block_forward(block, tokens, **kwargs)
        q, k, v = self.ops.qkv(blocks[-1], tokens)
        return self_self_attention_maps(q, k, v, self.mode, self.scale)

    def features(self, x: Tensor, dense: Optional[bool] = None,
                 context: Optional[bool] = None) -> DeCLIPFeatures:
        """One pass of the tower with named outputs.

        Args:
            x: ``(B, 3, H, W)`` normalised images.
            dense: compute the content map (None: ``out_dense``).
            context: compute the context features (None: ``out_context``; a decoupled mode).

        Returns:
            :class:`DeCLIPFeatures`: ``maps`` at ``out_indices`` (``(B, width, h, w)``, ``h x w``
            the padded token grid), ``dense`` and ``context`` (None unless asked for).
        """
        dense = self.out_dense if dense is None else dense
        context = self.out_context if context is None else context
        if context:
            self._require_decoupled('context features')
        out = self.forward_tokens(x, keep=self.out_indices)
        grid = out['grid']
        maps = tuple(tokens_to_map(out['kept'][i][:, 1:], grid) for i in self.out_indices)
        return DeCLIPFeatures(
            maps=maps,
            dense=self.dense_from_tokens(out['tokens'], grid, self.normalize_dense)
            if dense else None,
            context=self.context_from_qkv(out['qkv'], grid) if context else None)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """The maps at ``out_indices``, ``(B, width, H/p, W/p)`` each: the tuple an mmdet /
        mmseg neck or head reads. The dense map and the context come from :meth:`features`."""
        return self.features(x, dense=False, context=False).maps
