"""DeCLIPViT (backbones/declip_vit.py, towers.py, layers/rope.py, layers/pos_embed.py) on tiny
random models: plain-CLIP equivalence with open_clip / timm, the decoupled block written out by
hand, odd and non-square sizes, position embeddings, RoPE, freezing and checkpointing."""
import math

import pytest
import torch
import torch.nn.functional as F

from declip_mm.models.backbones import DeCLIPViT
from declip_mm.models.layers.pos_embed import resample_abs_pos_embed
from declip_mm.models.layers.rope import apply_rope, rope_angles


@torch.no_grad()
def randomize(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """O(1) random values everywhere (default inits zero many biases and hide mistakes)."""
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        if p.dim() >= 2:
            p.copy_(torch.randn(p.shape, generator=g) * p.shape[-1] ** -0.5)
        elif 'norm' in name or 'ln' in name:
            base = 1.0 if name.endswith('weight') else 0.0
            p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
        else:
            p.copy_(0.1 * torch.randn(p.shape, generator=g))
    return model


def make(arch, seed=0, **kw) -> DeCLIPViT:
    return randomize(DeCLIPViT(arch, **kw), seed).eval()


def images(*size, b=2, seed=1):
    return torch.randn(b, 3, *size, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------- plain CLIP equivalence
def test_vanilla_equals_open_clip_tower(tiny_vit):
    model = make(tiny_vit, mode='vanilla', out_indices=(1, 3))
    x = images(32, 32)
    visual = model.visual  # open_clip VisionTransformer with the same weights
    with torch.no_grad():
        ref = visual.forward_intermediates(x, indices=[1, 3], normalize_intermediates=False)
        maps = model(x)
        assert torch.allclose(model.encode_image(x, normalize=False), visual(x), atol=1e-5)
        assert torch.allclose(model.encode_image(x), F.normalize(visual(x), dim=-1), atol=1e-6)
        for ours, theirs in zip(maps, ref['image_intermediates']):
            assert ours.shape == theirs.shape == (2, 64, 4, 4)
            assert torch.allclose(ours, theirs, atol=1e-5)
        tokens = visual.forward_intermediates(x, indices=[3], normalize_intermediates=True)
        last = tokens['image_intermediates'][0]                 # ln_post(tokens), NCHW
        dense = torch.einsum('bchw,cd->bdhw', last, visual.proj)
        assert torch.allclose(model.encode_dense(x, normalize=False), dense, atol=1e-5)


def test_vanilla_equals_independent_open_clip_model(tiny_vit):
    """A separately built open_clip CLIP loaded with our weights gives the same embedding."""
    from open_clip.model import CLIP
    model = make(tiny_vit, mode='csa')  # encode_image ignores the mode
    clip = CLIP(tiny_vit['embed_dim'], tiny_vit['vision_cfg'], tiny_vit['text_cfg'],
                quick_gelu=True).eval()
    clip.visual.load_state_dict({k[len('visual.'):]: v for k, v in model.state_dict().items()})
    x = images(32, 32)
    with torch.no_grad():
        ref = clip.encode_image(x, normalize=True)
        assert torch.allclose(model.encode_image(x), ref, atol=1e-6)


@pytest.mark.parametrize('size', [(32, 32), (40, 64)])
def test_eva_vanilla_equals_timm(tiny_eva, size, monkeypatch):
    import timm.models.eva as timm_eva
    if size != (32, 32):
        # timm resamples pos_embed with antialias=True (a different bicubic kernel); EVA-CLIP /
        # DeCLIP (and declip_mm) use plain bicubic. Give timm the plain resampling so that the
        # rest of its forward (its own RoPE table for H x W, blocks, norm, head) is compared.
        monkeypatch.setattr(timm_eva, 'resample_abs_pos_embed',
                            lambda pe, new_size, old_size, num_prefix_tokens=1, **_:
                            resample_abs_pos_embed(pe, old_size, new_size, num_prefix_tokens))
    model = make(tiny_eva, mode='vanilla', out_indices=(0, 2, 3))
    trunk = model.visual['trunk']  # timm Eva: its own RoPE and forward code
    x = images(*size)
    with torch.no_grad():
        out = model.forward_tokens(x)
        inter = trunk.forward_intermediates(x, indices=[0, 2, 3], norm=False,
                                            intermediates_only=True, output_fmt='NCHW')
        for ours, theirs in zip(model(x), inter):
            assert torch.allclose(ours, theirs, atol=1e-5)
        assert torch.allclose(trunk.norm(out['tokens']), trunk.forward_features(x), atol=1e-5)
        assert torch.allclose(model.encode_image(x, normalize=False), trunk(x), atol=1e-5)


def test_eva_rope_equals_timm_rope_non_square(tiny_eva):
    """timm builds the EVA02 table for any H x W itself: an independent implementation."""
    trunk = DeCLIPViT(tiny_eva).visual['trunk']
    for grid in [(4, 4), (5, 8), (7, 3)]:
        ours = rope_angles(grid, 16, 4)
        theirs = trunk.rope.get_embed(shape=list(grid))  # cat([sin, cos])
        assert torch.allclose(torch.cat([ours.sin(), ours.cos()], -1), theirs, atol=1e-6)


# ----------------------------------------------------------------- the decoupled block by hand
@pytest.mark.parametrize('arch_name', ['tiny_eva', 'tiny_vit'])
@pytest.mark.parametrize('mode', ['qq', 'csa', 'all'])
def test_decoupled_block_by_hand(request, arch_name, mode):
    arch = request.getfixturevalue(arch_name)
    model = make(arch, mode=mode, out_indices=(2, 3), out_dense=True, out_context=True)
    x = images(37, 61)
    with torch.no_grad():
        out = model.forward_tokens(x, keep=(2,))
        h = out['kept'][2]                                    # input of the last block
        last = model.ops.blocks(model.visual)[-1]
        if arch_name == 'tiny_eva':
            n = last.norm1(h)
            q, k, v = last.attn.q_proj(n), last.attn.k_proj(n), last.attn.v_proj(n)  # no RoPE
        else:
            n = last.ln_1(h)
            q, k, v = F.linear(n, last.attn.in_proj_weight, last.attn.in_proj_bias).chunk(3, -1)
        heads, scale = 4, (1.0 if arch_name == 'tiny_eva' else 16 ** -0.5)
        split = lambda t: t.view(2, -1, heads, 16).transpose(1, 2)  # noqa: E731
        qh, kh, vh = split(q), split(k), split(v)
        sm = lambda a: torch.softmax(scale * a @ a.transpose(-1, -2), -1)  # noqa: E731
        attn = {'qq': lambda: sm(qh), 'csa': lambda: sm(qh) + sm(kh),
                'all': lambda: torch.softmax(scale * (qh @ qh.transpose(-1, -2) + kh @ kh.transpose(
                    -1, -2) + vh @ vh.transpose(-1, -2)) / 3, -1)}[mode]()
        o = (attn @ vh).transpose(1, 2).reshape(2, -1, 64)
        if arch_name == 'tiny_eva':
            o = last.attn.proj(last.attn.norm(o))             # sub-LN, no residual, no MLP
            dense = model.visual['trunk'].head(model.visual['trunk'].norm(o[:, 1:]))
        else:
            o = last.attn.out_proj(o)
            dense = model.visual.ln_post(o[:, 1:]) @ model.visual.proj
        dense = F.normalize(dense, dim=-1).transpose(1, 2).reshape(2, 32, 5, 8)
        feats = model.features(x)
        assert torch.allclose(feats.maps[1], o[:, 1:].transpose(1, 2).reshape(2, 64, 5, 8),
                              atol=1e-5)
        assert torch.allclose(feats.dense, dense, atol=1e-5)
        assert torch.allclose(model.encode_dense(x), dense, atol=1e-5)
        ctx = {'qq': (q,), 'csa': (q, k), 'all': (q, k, v)}[mode]
        assert len(feats.context) == len(ctx)
        for got, want in zip(feats.context, ctx):
            assert torch.allclose(got, want[:, 1:].transpose(1, 2).reshape(2, 64, 5, 8), atol=1e-5)
        if mode == 'csa':
            rows = model.attention_maps(x).sum(-1)
            assert torch.allclose(rows, torch.full_like(rows, 2.0), atol=1e-5)


def test_attn_scale_options(tiny_eva, tiny_vit):
    assert DeCLIPViT(tiny_eva).scale == 1.0                 # official EVA02 path: unscaled
    assert DeCLIPViT(tiny_vit).scale == 16 ** -0.5          # official OpenAI path: scaled
    assert DeCLIPViT(tiny_eva, attn_scale='head_dim').scale == 16 ** -0.5
    assert DeCLIPViT(tiny_vit, attn_scale=None).scale == 1.0
    assert DeCLIPViT(tiny_eva, attn_scale=0.3).scale == 0.3
    with pytest.raises(ValueError, match='attn_scale'):
        DeCLIPViT(tiny_eva, attn_scale='sqrt')
    with pytest.raises(ValueError, match='unknown mode'):
        DeCLIPViT(tiny_eva, mode='qk')
    with pytest.raises(ValueError, match='out_context needs a decoupled mode'):
        DeCLIPViT(tiny_eva, mode='vanilla', out_context=True)
    with pytest.raises(ValueError, match='context features need a decoupled mode'):
        DeCLIPViT(tiny_vit, mode='maskclip').encode_dense_with_context(torch.zeros(1, 3, 32, 32))


# ----------------------------------------------------------------- sizes and padding
@pytest.mark.parametrize('arch_name', ['tiny_eva', 'tiny_vit'])
def test_odd_non_square_sizes_and_padding(request, arch_name):
    arch = request.getfixturevalue(arch_name)
    model = make(arch, mode='csa', out_indices=(1, 3), out_dense=True, out_context=True)
    x = images(37, 61)
    with torch.no_grad():
        feats = model.features(x)
        outs = (*feats.maps, feats.dense)
        assert [tuple(o.shape) for o in outs] == [(2, 64, 5, 8), (2, 64, 5, 8), (2, 32, 5, 8)]
        assert [tuple(c.shape) for c in feats.context] == [(2, 64, 5, 8)] * 2
        assert torch.allclose(feats.dense.norm(dim=1), torch.ones(2, 5, 8), atol=1e-5)
        # zero padding bottom / right to (40, 64): identical to padding by hand
        padded = model.features(F.pad(x, (0, 3, 0, 3)))
        for a, b in zip(outs, (*padded.maps, padded.dense)):
            assert torch.equal(a, b)
        assert model.encode_image(x).shape == (2, 32)
        assert model.encode_dense(images(8, 9, b=1)).shape == (1, 32, 1, 2)
    with pytest.raises(ValueError, match='smaller than one'):
        model(images(7, 30))
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        model(torch.zeros(1, 1, 32, 32))



def test_forward_is_the_maps_whatever_the_flags(tiny_eva):
    """``forward`` keeps mmdet / mmseg's backbone convention (a tuple of the out_indices maps
    only), ``features`` names the extras and computes only what is asked."""
    model = make(tiny_eva, mode='csa', out_indices=(1, 3), out_dense=True, out_context=True)
    x = images(32, 40)
    with torch.no_grad():
        maps = model(x)
        full = model.features(x)
        bare = model.features(x, dense=False, context=False)
        plain = make(tiny_eva, mode='csa', out_indices=(1, 3)).features(x)
        dense_only = model.features(x, context=False)
    assert isinstance(maps, tuple) and len(maps) == 2
    for m, a, b in zip(maps, full.maps, bare.maps):
        assert torch.equal(m, a) and torch.equal(m, b)
    assert bare.dense is None and bare.context is None
    assert plain.dense is None and plain.context is None   # flags off by default
    assert torch.equal(dense_only.dense, full.dense) and dense_only.context is None
    assert torch.allclose(full.dense, model.encode_dense(x), atol=1e-6)
    dense, context = model.encode_dense_with_context(x, normalize=True)
    assert torch.allclose(full.dense, dense, atol=1e-6)
    for a, b in zip(full.context, context):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match='context features need a decoupled mode'):
        make(tiny_eva, mode='vanilla').features(x, context=True)


def test_maps_are_contiguous_for_mmcv_roi_align(tiny_vit):
    """mmcv 2.1's compiled RoIAlign reads NCHW memory blindly: on a channels-last view it
    returns garbage. Every map DeCLIPViT returns must therefore be contiguous, and mmcv's
    RoIAlign must then agree with torchvision's."""
    from mmcv.ops import RoIAlign
    from torchvision.ops import roi_align
    model = make(tiny_vit, mode='csa', out_indices=(1, 3), out_dense=True, out_context=True)
    with torch.no_grad():
        feats = model.features(images(48, 64))
    maps = [*feats.maps, feats.dense, *feats.context]
    assert all(m.is_contiguous() for m in maps)
    rois = torch.tensor([[0, 3.0, 2.0, 40.0, 30.0], [1, 10.0, 5.0, 60.0, 47.0]])
    mm = RoIAlign((3, 3), spatial_scale=1 / 8, sampling_ratio=2, aligned=True)
    for m in maps:
        ref = roi_align(m, rois, (3, 3), spatial_scale=1 / 8, sampling_ratio=2, aligned=True)
        assert torch.allclose(mm(m, rois), ref, atol=1e-5)

# ----------------------------------------------------------------- position embeddings, RoPE
def test_pos_embed_resample():
    pos = torch.randn(1, 1 + 16, 8)
    assert resample_abs_pos_embed(pos, (4, 4), (4, 4)) is pos           # identity at native grid
    out = resample_abs_pos_embed(pos, (4, 4), (5, 7))
    assert out.shape == (1, 1 + 35, 8)
    assert torch.equal(out[:, 0], pos[:, 0])                           # CLS untouched
    grid = pos[0, 1:].T.reshape(1, 8, 4, 4)
    ref = F.interpolate(grid, size=(5, 7), mode='bicubic', align_corners=False)
    assert torch.allclose(out[0, 1:], ref.reshape(8, 35).T, atol=1e-6)
    const = torch.ones(1, 17, 8)                                       # constants stay constant
    assert torch.allclose(resample_abs_pos_embed(const, (4, 4), (9, 3)), torch.ones(1, 28, 8))


def _upstream_rope(side: int, head_dim: int, pt: int, theta: float = 10000.0):
    """EVA02's table written from the method description, in float64 loops: per axis
    t = i / n * pt, inverse frequencies theta^(-2j / (head_dim / 2)), each angle twice,
    row-axis block then column-axis block."""
    half = head_dim // 2
    inv = [theta ** (-(2 * j) / half) for j in range(half // 2)]
    rows = []
    for r in range(side):
        for c in range(side):
            ang_r = [r / side * pt * f for f in inv for _ in range(2)]
            ang_c = [c / side * pt * f for f in inv for _ in range(2)]
            rows.append(ang_r + ang_c)
    return torch.tensor(rows, dtype=torch.float64)


@pytest.mark.parametrize('side,head_dim,pt', [(4, 16, 4), (6, 16, 4), (14, 64, 16), (20, 64, 16)])
def test_rope_square_matches_upstream_formula(side, head_dim, pt):
    ours = rope_angles((side, side), head_dim, pt)
    ref = _upstream_rope(side, head_dim, pt)
    assert ours.shape == (side * side, head_dim)
    assert torch.allclose(ours.double(), ref, atol=1e-5)
    assert torch.allclose(ours.cos().double(), ref.cos(), atol=2e-6)
    assert torch.allclose(ours.sin().double(), ref.sin(), atol=2e-6)


def test_rope_axes_independent():
    h, w, d = 5, 9, 16
    ang = rope_angles((h, w), d, 4).view(h, w, d)
    sq_h, sq_w = rope_angles((h, h), d, 4).view(h, h, d), rope_angles((w, w), d, 4).view(w, w, d)
    assert torch.equal(ang[..., :d // 2], sq_h[:, :1, :d // 2].expand(h, w, d // 2))
    assert torch.equal(ang[..., d // 2:], sq_w[:1, :, d // 2:].expand(h, w, d // 2))


def test_apply_rope_is_a_rotation():
    ang = rope_angles((3, 5), 16, 4)
    x = torch.randn(2, 15, 16, dtype=torch.float64)
    y = apply_rope(x, ang.cos().double(), ang.sin().double())
    assert torch.allclose(y.norm(dim=-1), x.norm(dim=-1))
    # pair (0, 1) of token 7 is rotated by its angle
    a = ang[7, 0].item()
    x0, x1 = x[0, 7, 0].item(), x[0, 7, 1].item()
    assert math.isclose(y[0, 7, 0].item(), x0 * math.cos(a) - x1 * math.sin(a), abs_tol=1e-6)
    assert math.isclose(y[0, 7, 1].item(), x1 * math.cos(a) + x0 * math.sin(a), abs_tol=1e-6)


# ----------------------------------------------------------------- freezing, checkpointing
def test_frozen_with_trainable_patterns(tiny_eva):
    pats = ['visual.trunk.blocks.*.attn.q_proj.*', 'visual.trunk.blocks.*.attn.v_proj.*']
    model = DeCLIPViT(tiny_eva, frozen=True, trainable=pats)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    expected = {f'visual.trunk.blocks.{i}.attn.{p}_proj.{t}'
                for i in range(4) for p in 'qv' for t in ('weight', 'bias')}
    assert trainable == expected
    assert all(not p.requires_grad for p in DeCLIPViT(tiny_eva, frozen=True).parameters())
    assert all(p.requires_grad for p in DeCLIPViT(tiny_eva).parameters())
    model.train()
    assert model.training


def test_frozen_first_blocks(tiny_vit):
    model = DeCLIPViT(tiny_vit, frozen=2)
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert 'visual.conv1.weight' in frozen and 'visual.positional_embedding' in frozen
    assert any(n.startswith('visual.transformer.resblocks.1.') for n in frozen)
    assert not any(n.startswith('visual.transformer.resblocks.2.') for n in frozen)
    assert 'visual.proj' not in frozen and 'visual.ln_post.weight' not in frozen
    fully = DeCLIPViT(tiny_vit, frozen=True).train()
    assert not fully.visual.training                        # frozen tower stays in eval mode


@pytest.mark.parametrize('arch_name', ['tiny_eva', 'tiny_vit'])
def test_with_cp_same_output_and_grads(request, arch_name):
    arch = request.getfixturevalue(arch_name)
    results = []
    for with_cp in (False, True):
        model = make(arch, mode='csa', out_indices=(1, 3), out_dense=True, with_cp=with_cp).train()
        feats = model.features(images(24, 40))
        outs = (*feats.maps, feats.dense)
        loss = sum((o * torch.linspace(-1, 1, o.numel()).view_as(o)).sum() for o in outs)
        loss.backward()
        results.append((outs, {n: p.grad.clone() for n, p in model.named_parameters()
                               if p.grad is not None}))
    (o0, g0), (o1, g1) = results
    for a, b in zip(o0, o1):
        assert torch.allclose(a, b, atol=1e-6)
    assert g0.keys() == g1.keys() and len(g0) > 10
    for name in g0:
        assert torch.allclose(g0[name], g1[name], atol=1e-5), name
