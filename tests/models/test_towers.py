"""Tower drivers: an ordinary block run by ``ops.block_forward`` is the library block."""
import pytest
import torch

from declip_mm.models.backbones import DeCLIPViT


def randomize_(module: torch.nn.Module, seed: int = 0) -> None:
    """O(1) values everywhere, so that zero-initialised biases hide nothing."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (p.shape[-1] ** -0.5 if p.dim() > 1
                                                           else 0.1) + (p.dim() == 1))


def block_io(arch: dict, tokens: int = 37, batch: int = 3):
    """``(ops, first block, input tokens, block kwargs)`` of a randomised tiny tower."""
    model = DeCLIPViT(arch, mode='vanilla')
    randomize_(model)
    block = model.ops.blocks(model.visual)[0]
    x = torch.randn(batch, tokens, model.width, generator=torch.Generator().manual_seed(1))
    side = int((tokens - 1) ** 0.5)
    kwargs = model.ops.block_kwargs(model.visual, (side, side), x)
    return model.ops, block, x, kwargs


@pytest.mark.parametrize('arch_name', ['tiny_vit', 'tiny_eva'])
def test_block_forward_equals_block_without_grad(request, arch_name):
    """Eval mode without gradients: the case where nn.MultiheadAttention takes torch's
    native fast path, which block_forward replaces by SDPA."""
    ops, block, x, kwargs = block_io(request.getfixturevalue(arch_name))
    block.eval()
    with torch.no_grad():
        ours, ref = ops.block_forward(block, x, **kwargs), block(x, **kwargs)
    assert ref.abs().max() > 0.5  # a real signal, not a near-zero residual
    assert torch.allclose(ours, ref, atol=1e-5, rtol=1e-6)  # |ref| up to ~10


@pytest.mark.parametrize('arch_name', ['tiny_vit', 'tiny_eva'])
def test_block_forward_same_gradients(request, arch_name):
    ops, block, x, kwargs = block_io(request.getfixturevalue(arch_name))
    block.train()
    weight = torch.linspace(-1, 1, x.numel()).view_as(x)
    grads = []
    for fn in (lambda t: ops.block_forward(block, t, **kwargs), lambda t: block(t, **kwargs)):
        block.zero_grad()
        xi = x.clone().requires_grad_(True)
        (fn(xi) * weight).sum().backward()
        grads.append([xi.grad] + [p.grad.clone() for p in block.parameters()])
    for ours, ref in zip(*grads):  # float32 rounding relative to the largest entry
        assert (ours - ref).abs().max() <= 1e-5 * ref.abs().max()
