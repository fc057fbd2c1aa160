"""DeCLIPViT on CUDA: ``encode_dense`` equals the CPU result in float32, stays within a per-pixel
cosine of 0.999 under bf16 autocast, and its csa attention runs through a fused SDPA kernel.

Skipped without a CUDA GPU (``tools/dev/gpu_check.sh`` runs them on one). Random weights; the
EVA02-B/16 tower at 224^2 (196 patches), the size its csa SDPA calls have in practice.
"""
import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')

FUSED_OPS = ('aten::_scaled_dot_product_flash_attention',
             'aten::_scaled_dot_product_efficient_attention',
             'aten::_scaled_dot_product_cudnn_attention')
MATH_OP = 'aten::_scaled_dot_product_attention_math'


@pytest.fixture(scope='module')
def towers():
    """``(cpu model, cuda model, images)``: one random EVA02-B/16 csa tower on both devices."""
    from declip_mm.models.backbones.declip_vit import DeCLIPViT
    torch.manual_seed(0)
    cpu = DeCLIPViT(arch='EVA02-CLIP-B-16', mode='csa').eval()
    gpu = DeCLIPViT(arch='EVA02-CLIP-B-16', mode='csa').eval()
    gpu.load_state_dict(cpu.state_dict())
    images = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    return cpu, gpu.cuda(), images


@pytest.fixture
def no_tf32():
    """Full float32 matmuls and convolutions for the duration of a test."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def sdpa_ops(fn) -> dict:
    """``{aten SDPA op name: calls}`` of ``fn()``, under torch's profiler."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:  # aten op names are CPU events
        fn()
        torch.cuda.synchronize()
    return {e.key: e.count for e in prof.key_averages() if 'scaled_dot_product' in e.key}


def fused_calls(ops: dict) -> int:
    return sum(n for name, n in ops.items() if name in FUSED_OPS)


def test_encode_dense_cuda_fp32_equals_cpu(towers, no_tf32):
    cpu, gpu, images = towers
    with torch.no_grad():
        ref = cpu.encode_dense(images)
        out = gpu.encode_dense(images.cuda()).cpu()
    assert out.shape == ref.shape == (2, 512, 14, 14)
    assert (out - ref).abs().max().item() < 1e-4
    assert torch.allclose(out.norm(dim=1), torch.ones(2, 14, 14), atol=1e-5)  # unit per pixel


def test_encode_dense_bf16_autocast_cosine(towers):
    _, gpu, images = towers
    x = images.cuda()
    with torch.no_grad():
        ref = gpu.encode_dense(x, normalize=False)
        with torch.autocast('cuda', dtype=torch.bfloat16):
            low = gpu.encode_dense(x, normalize=False)
    assert low.dtype == torch.bfloat16
    cos = torch.nn.functional.cosine_similarity(low.float(), ref, dim=1)  # (B, h, w)
    assert cos.min().item() >= 0.999, cos.min().item()


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_csa_attention_uses_a_fused_sdpa_kernel(towers, dtype):
    """With only flash / memory-efficient SDPA allowed, the math fallback would raise; the
    profiler shows which fused op ran (fp32: memory-efficient; bf16: flash or efficient)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from declip_mm.models.layers.decoupled_attention import (explicit_self_self_attention,
                                                             self_self_attention)
    _, gpu, images = towers
    x = images.cuda()
    allowed = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION]

    def run():
        with torch.no_grad(), sdpa_kernel(allowed), \
                torch.autocast('cuda', dtype=torch.bfloat16, enabled=dtype != torch.float32):
            return gpu.encode_dense(x)

    ops = sdpa_ops(run)
    # 11 ordinary blocks (timm's SDPA) + the csa block's two softmaxes (q q^T, k k^T): 13 calls
    assert fused_calls(ops) == gpu.depth - 1 + 2, ops
    assert MATH_OP not in ops, ops
    # the csa call on its own, at the last block's shapes (B, 12 heads, 1 + 196, 64), scale 1
    g = torch.Generator(device='cuda').manual_seed(0)
    q, k, v = (0.5 * torch.randn(2, 12, 197, 64, device='cuda', generator=g) for _ in range(3))
    q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
    with sdpa_kernel(allowed):
        ops = sdpa_ops(lambda: self_self_attention(q, k, v, 'csa', 1.0))
        out = self_self_attention(q, k, v, 'csa', 1.0).float()
    assert fused_calls(ops) == 2 and MATH_OP not in ops, ops
    ref = explicit_self_self_attention(q.double(), k.double(), v.double(), 'csa', 1.0)[0]
    tol = 1e-5 if dtype == torch.float32 else 3e-2
    assert (out.double() - ref).abs().max().item() < tol
