"""Tiny architectures for tests, demos and the offline proving ground (random weights).

Submodules (imported on demand):

* ``fvit``: a tiny F-ViT config and COCO tree;
* ``distill``: a tiny distiller and packed batches of skimage photos;
* ``checkpoints``: random tiny towers and the checkpoint layouts users have (EVA-CLIP names, ...);
* ``toy``: a toy model / dataset / pause hook for fast training runs, and their configs;
* ``faults``: checkpoint-write faults (half-written save, full disk) switched on by environment;
* ``scripts``: import a ``tools/`` script by path;
* ``doc_snippets``: find, classify and check the code blocks of README.md and docs/*.md.
"""
TINY_TEXT = dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=2)

TINY_EVA = dict(embed_dim=32, text_cfg=TINY_TEXT,
                vision_cfg=dict(image_size=32, layers=4, width=64, head_width=16, patch_size=8,
                                mlp_ratio=2.6667, rope=True, subln=True, naiveswiglu=True,
                                pt_hw_seq_len=4))
"""EVA02-style: RoPE, sub-LN, SwiGLU; 4 blocks of width 64, patch 8, 4x4 pretraining grid."""

TINY_VIT = dict(embed_dim=32, quick_gelu=True, text_cfg=TINY_TEXT,
                vision_cfg=dict(image_size=32, layers=4, width=64, head_width=16, patch_size=8))
"""OpenAI-style (open_clip VisionTransformer): 4 blocks of width 64, patch 8."""


def make_tiny_coco(root: str, num_images: int = 4, size: int = 64, seed: int = 0,
                   classes=('red box', 'blue box')) -> str:
    """Write a tiny COCO-format detection set (coloured rectangles) and return the json path.

    Images go to ``root/images/``, annotations to ``root/annotations.json``; each image holds one
    to two axis-aligned rectangles, one class per colour, with boxes and polygon masks.
    """
    import json
    import os

    import cv2
    import numpy as np
    rng = np.random.default_rng(seed)
    colours = [(0, 0, 220), (220, 0, 0), (0, 200, 0), (200, 200, 0)]
    os.makedirs(os.path.join(root, 'images'), exist_ok=True)
    images, anns = [], []
    for i in range(num_images):
        img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
        for j in range(1 + i % 2):
            cls = (i + j) % len(classes)
            w, h = rng.integers(size // 4, size // 2, 2)
            x, y = rng.integers(0, size - w), rng.integers(0, size - h)
            x, y = (x, y) if j == 0 else (min(x, size // 2), max(y, size - h - 1))
            img[y:y + h, x:x + w] = colours[cls]
            anns.append(dict(id=len(anns) + 1, image_id=i + 1, category_id=cls + 1, iscrowd=0,
                             bbox=[int(x), int(y), int(w), int(h)], area=int(w * h),
                             segmentation=[[int(x), int(y), int(x + w), int(y), int(x + w),
                                            int(y + h), int(x), int(y + h)]]))
        name = f'{i:04d}.png'
        cv2.imwrite(os.path.join(root, 'images', name), img)
        images.append(dict(id=i + 1, file_name=name, width=size, height=size))
    cats = [dict(id=k + 1, name=n) for k, n in enumerate(classes)]
    path = os.path.join(root, 'annotations.json')
    with open(path, 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=cats), f)
    return path


def make_tiny_seg(root: str, num_images: int = 4, size: int = 64, seed: int = 0) -> str:
    """Write a tiny mmseg-format set (``img_dir/*.png`` + ``ann_dir/*.png``, labels 0..2).

    Class 0 is the noisy background, 1 a red rectangle, 2 a blue disc. Returns ``root``.
    """
    import os

    import cv2
    import numpy as np
    rng = np.random.default_rng(seed)
    for sub in ('img_dir', 'ann_dir'):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    for i in range(num_images):
        img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
        ann = np.zeros((size, size), np.uint8)
        x, y = rng.integers(0, size // 2, 2)
        img[y:y + size // 3, x:x + size // 3] = (0, 0, 220)
        ann[y:y + size // 3, x:x + size // 3] = 1
        c = tuple(int(v) for v in rng.integers(size // 4, 3 * size // 4, 2))
        cv2.circle(img, c, size // 8, (220, 0, 0), -1)
        cv2.circle(ann, c, size // 8, 2, -1)
        cv2.imwrite(os.path.join(root, 'img_dir', f'{i:04d}.png'), img)
        cv2.imwrite(os.path.join(root, 'ann_dir', f'{i:04d}.png'), ann)
    return root


def seeded_tensor(key: str, shape, seed: int = 0):
    """A random tensor that depends only on ``(seed, key, shape)``: parity fixtures rebuild the
    same weights from key names and shapes instead of shipping them.

    Scales keep a deep random network's activations O(1): ``.weight`` matrices / kernels get
    ``N(0, 1 / fan_in)`` (fan-in = elements per output row), other tensors of 2+ dims (position
    embeddings, tokens, projections) ``N(0, 1 / last dim)``, 1-d ``.weight`` (norms)
    ``1 + 0.1 N(0, 1)``, other 1-d / scalar tensors (biases) ``0.1 N(0, 1)``.
    """
    import zlib

    import torch
    shape = tuple(int(s) for s in shape)
    g = torch.Generator().manual_seed(zlib.crc32(f'{seed}:{key}'.encode()))
    x = torch.randn(shape, generator=g)
    if len(shape) >= 2 and key.endswith('.weight'):
        return x * (x[0].numel() ** -0.5)
    if len(shape) >= 2:
        return x * (shape[-1] ** -0.5)
    return 1.0 + 0.1 * x if key.endswith('.weight') else 0.1 * x


def seeded_image(seed: int, size):
    """A random RGB image ``(3, H, W)``, float values in ``[0, 255)``, from ``seed`` alone."""
    import torch
    g = torch.Generator().manual_seed(seed)
    return torch.rand(3, *(int(s) for s in size), generator=g) * 255
