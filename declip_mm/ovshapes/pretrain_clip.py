"""Pretrain the tiny OV-Shapes CLIP (open_clip ``CLIP`` with ``OV_SHAPES_CLIP``) on CPU.

Image-caption contrastive training on the ``clip`` split (40k scenes of all 30 classes,
generated in memory from its seed): batch 128, 2,000 steps, AdamW (lr 1e-3, weight decay 0.1
on matrices), linear warm-up then cosine decay.

* Views. Every augmentation keeps its caption true: random flips and 90-degree rotations
  (captions carry no spatial words); 30% of the views frame one object (a jittered square
  crop, 1.1-1.8x its box) captioned ``'a <class>'``, as close-ups are part of any CLIP's
  data; half the remaining whole-scene views get a random square zoom that still contains
  every object.
* Soft targets. Scenes with the same set of objects have the same caption, so the InfoNCE
  targets are uniform over every caption in the batch naming the same set.
* Hard negatives. Each image also meets its own caption with one object's shape swapped for
  another of the same colour (NegCLIP-style). Without them colours alone identify most
  multi-object captions in a batch and shape is learnt poorly.

What each part of the recipe contributed, and the gate of the shipped seeds, is measured in
docs/ovshapes.md ("The tiny CLIP", "Training"). ``--object-views 0`` and
``--no-hard-negatives`` switch the two parts off.

The checkpoint is an open_clip state dict (``visual.*`` + the text keys + ``logit_scale``), in
fp16 by default. Rows of the token embedding that no OV-Shapes caption or prompt uses never
receive a gradient; they are zeroed, so the file compresses well in git. At the end the file
is reloaded through ``DeCLIPViT`` / ``DeCLIPTextEncoder`` and the crop-classification gate is
measured on the test split.

``world='128'`` trains on the 128 px world's scenes (usually fine-tuning the 64 px CLIP with
``init``); every view is resampled to the CLIP's 64 px input, and the gate is measured on
that world's test scenes.

Command line: ``tools/ovshapes/pretrain_clip.py``.
"""

import math
import os
import time
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.ops import roi_align

from ..datasets.ov_shapes.arch import (OV_SHAPES_CLIP, OV_SHAPES_MEAN, OV_SHAPES_STD,
                                       OV_SHAPES_TEMPLATES, tiny_clip_checkpoint)
from ..datasets.ov_shapes.classes import CLASSES, SHAPES, caption_for
from ..datasets.ov_shapes.generator import MAX_OBJECTS
from ..datasets.ov_shapes.writer import SPLITS, make_scenes
from ..engine.atomic_io import atomic_torch_save
from . import probe

GATE = 80.0
VIEW_SIZE = OV_SHAPES_CLIP['vision_cfg']['image_size']
"""Side of every training view (64 px): larger worlds' views are resampled to it."""


@dataclass
class PretrainClipOptions:
    """The recipe's settings (``tools/ovshapes/pretrain_clip.py --help``)."""
    out: Optional[str] = None
    seed: int = 0
    scenes: int = SPLITS['clip'].n
    steps: int = 2000
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup: int = 100
    threads: int = 2
    device: str = 'cpu'
    eval_scenes: int = SPLITS['test'].n
    object_views: float = 0.3
    init: Optional[str] = None
    no_hard_negatives: bool = False
    fp32: bool = False
    log_interval: int = 50
    world: str = '64'


def caption_labels(scenes) -> torch.Tensor:
    """``(N, MAX_OBJECTS)`` class indices in caption order, padded with -1."""
    out = torch.full((len(scenes), MAX_OBJECTS), -1, dtype=torch.int64)
    for i, s in enumerate(scenes):
        ids = [CLASSES.index(part[len('a '):]) for part in s.caption.split(' and ')]
        out[i, :len(ids)] = torch.tensor(ids)
    return out


def object_sets(labels: torch.Tensor) -> torch.Tensor:
    """``(N,)`` int64 bitmask of each row's set of classes (equal masks = same caption)."""
    bits = torch.where(labels >= 0, torch.ones_like(labels) << labels.clamp(min=0), 0)
    return bits.sum(1)


def shape_swapped(labels: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Hard negatives: in each row one object gets another shape of the same colour, chosen
    among classes not already in the row (there is always one: 5 shapes, at most 4 objects)."""
    n_shapes, out = len(SHAPES), labels.clone()
    for i, row in enumerate(labels.tolist()):
        objs = [c for c in row if c >= 0]
        j = int(torch.randint(len(objs), (1,), generator=gen))
        colour = objs[j] // n_shapes
        same_colour = [colour * n_shapes + s for s in range(n_shapes)]
        options = [c for c in same_colour if c not in objs]
        out[i, j] = options[int(torch.randint(len(options), (1,), generator=gen))]
    return out


def soft_clip_loss(img: torch.Tensor, txt: torch.Tensor, scale: torch.Tensor,
                   keys: torch.Tensor, neg_txt: Optional[torch.Tensor] = None,
                   neg_keys: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Symmetric InfoNCE with soft targets and optional extra negative captions.

    Args:
        img, txt: ``(B, D)`` normalised embeddings of the images and their captions.
        scale: logit scale (already exponentiated).
        keys: ``(B,)`` caption identity; equal keys are all positives.
        neg_txt: ``(M, D)`` extra captions, used as candidates of the image-to-text term.
        neg_keys: ``(M,)`` their identity (one that equals an image's key is a positive).
    """
    logits = scale * img @ txt.t()
    same = (keys[:, None] == keys[None, :]).float()
    t2i = F.cross_entropy(logits.t(), same / same.sum(1, keepdim=True))
    if neg_txt is not None:
        logits = torch.cat([logits, scale * img @ neg_txt.t()], 1)
        same = torch.cat([same, (keys[:, None] == neg_keys[None, :]).float()], 1)
    i2t = F.cross_entropy(logits, same / same.sum(1, keepdim=True))
    return (i2t + t2i) / 2


def union_boxes(scenes) -> torch.Tensor:
    """``(N, 4)`` box around all objects of each scene (``x1, y1, x2, y2``)."""
    return torch.tensor(np.stack([np.concatenate([s.boxes[:, :2].min(0), s.boxes[:, 2:].max(0)])
                                  for s in scenes]), dtype=torch.float32)


def zoom_boxes(union: torch.Tensor, size: int, gen: torch.Generator, p: float = 0.5,
               margin: float = 1.15) -> torch.Tensor:
    """Random square crops ``(B, 4)`` that contain ``union`` ``(B, 4)``.

    With probability ``1 - p`` the crop is the whole image; otherwise its side is uniform
    between ``margin`` x the union's longer side and ``size``, placed uniformly among the
    positions inside the image that contain the union (centred on it if there are none).
    """
    b = union.shape[0]
    tight = (margin * (union[:, 2:] - union[:, :2]).max(1).values).clamp(max=size)
    side = tight + torch.rand(b, generator=gen) * (size - tight)
    side = torch.where(torch.rand(b, generator=gen) < p, side, torch.full_like(side, size))
    lo = torch.maximum(union[:, 2:] - side[:, None], torch.zeros_like(union[:, :2]))
    hi = torch.minimum(union[:, :2], size - side[:, None])
    centred = (union[:, :2] + union[:, 2:] - side[:, None]) / 2
    start = torch.where(hi >= lo, lo + torch.rand(b, 2, generator=gen) * (hi - lo), centred)
    return torch.cat([start, start + side[:, None]], 1)


def object_views(boxes: torch.Tensor, labels: torch.Tensor, gen: torch.Generator,
                 widen: Tuple[float, float] = (1.1, 1.8), jitter: float = 0.1
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
    """One random object per scene, framed by a jittered square crop.

    Args:
        boxes: ``(B, K, 4)`` object boxes; labels ``(B, K)`` their classes, -1 padded.
        widen: range of the crop side over the box's longer side.
        jitter: centre shift, as a fraction of the crop side, per axis.

    Returns:
        crop boxes ``(B, 4)`` and the framed objects' classes ``(B,)``.
    """
    b = boxes.shape[0]
    pick = (torch.rand(b, generator=gen) * (labels >= 0).sum(1)).long()
    box, label = boxes[torch.arange(b), pick], labels[torch.arange(b), pick]
    side = (box[:, 2:] - box[:, :2]).max(1).values
    side = side * (widen[0] + torch.rand(b, generator=gen) * (widen[1] - widen[0]))
    centre = (box[:, :2] + box[:, 2:]) / 2
    centre = centre + (torch.rand(b, 2, generator=gen) * 2 - 1) * jitter * side[:, None]
    return torch.cat([centre - side[:, None] / 2, centre + side[:, None] / 2], 1), label


def augment(x: torch.Tensor, boxes: torch.Tensor, gen: torch.Generator,
            size: Optional[int] = None) -> torch.Tensor:
    """Crop ``boxes`` ``(B, 4)`` out of ``x`` ``(B, 3, S, S)`` (normalised) at ``size x size``
    (default ``S``), then a random horizontal flip per image and one random 90-degree rotation
    per batch."""
    rois = torch.cat([torch.arange(len(x), dtype=x.dtype)[:, None], boxes], 1)
    out = (size, size) if size else tuple(x.shape[-2:])
    x = roi_align(x, rois, out, spatial_scale=1.0, sampling_ratio=2, aligned=True)
    flip = torch.rand(x.shape[0], generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    return torch.rot90(x, int(torch.randint(4, (1,), generator=gen)), dims=(-2, -1))


def param_groups(model: torch.nn.Module, weight_decay: float):
    """Weight decay on matrices only (not on norms, biases, logit scale, position embeddings)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        skip = p.ndim < 2 or 'logit_scale' in name or 'positional_embedding' in name
        (no_decay if skip else decay).append(p)
    return [dict(params=decay, weight_decay=weight_decay), dict(params=no_decay, weight_decay=0.0)]


def lr_at(step: int, total: int, warmup: int, base: float) -> float:
    """Linear warm-up to ``base`` then cosine decay to 0."""
    if step < warmup:
        return base * (step + 1) / warmup
    return 0.5 * base * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def used_tokens(tokenizer, texts) -> torch.Tensor:
    """Sorted ids of every token in ``texts`` (plus start / end of text)."""
    return torch.unique(tokenizer(list(texts)))


def export_state_dict(model: torch.nn.Module, keep_tokens: torch.Tensor, fp16: bool) -> dict:
    """open_clip state dict; unused token-embedding rows zeroed; optionally fp16."""
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    emb = sd['token_embedding.weight']
    keep = torch.zeros(emb.shape[0], dtype=torch.bool)
    keep[keep_tokens] = True
    emb[~keep] = 0
    return {k: v.half() if fp16 and v.is_floating_point() else v for k, v in sd.items()}


def build_data(scenes, tokenizer) -> Dict[str, torch.Tensor]:
    """Tensors of the training scenes (``N`` scenes, ``K = MAX_OBJECTS``).

    Returns:
        dict: ``images`` ``(N, S, S, 3)`` uint8, ``tokens`` ``(N, L)`` caption tokens,
        ``labels`` ``(N, K)`` classes in caption order, ``unions`` ``(N, 4)``, ``obj_boxes``
        ``(N, K, 4)`` / ``obj_labels`` ``(N, K)`` per object (-1 padded), ``class_tokens``
        ``(30, L)`` tokens of the single-object captions ``'a <class>'``.
    """
    obj_boxes = torch.zeros(len(scenes), MAX_OBJECTS, 4)
    obj_labels = torch.full((len(scenes), MAX_OBJECTS), -1, dtype=torch.int64)
    for i, s in enumerate(scenes):
        obj_boxes[i, :len(s.labels)] = torch.from_numpy(s.boxes)
        obj_labels[i, :len(s.labels)] = torch.from_numpy(s.labels)
    return dict(images=torch.from_numpy(np.stack([s.image for s in scenes])),
                tokens=tokenizer([s.caption for s in scenes]), labels=caption_labels(scenes),
                unions=union_boxes(scenes), obj_boxes=obj_boxes, obj_labels=obj_labels,
                class_tokens=tokenizer([caption_for([c]) for c in range(len(CLASSES))]))


def make_batch(data: Dict[str, torch.Tensor], idx: torch.Tensor, gen: torch.Generator,
               p_object: float) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images ``(B, 3, S, S)`` (normalised, augmented), caption tokens ``(B, L)`` and caption
    classes ``(B, K)``. A fraction ``p_object`` of the views frames one object
    (``object_views``) captioned ``'a <class>'``; the others are whole scenes, half of them
    zoomed (``zoom_boxes``)."""
    images = data['images'][idx].permute(0, 3, 1, 2).float()
    mean = torch.tensor(OV_SHAPES_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(OV_SHAPES_STD).view(1, 3, 1, 1)
    boxes = zoom_boxes(data['unions'][idx], images.shape[-1], gen)
    obj_box, obj_label = object_views(data['obj_boxes'][idx], data['obj_labels'][idx], gen)
    single = torch.full_like(data['labels'][idx], -1)
    single[:, 0] = obj_label
    sel = torch.rand(len(idx), generator=gen) < p_object
    boxes = torch.where(sel[:, None], obj_box, boxes)
    tokens = torch.where(sel[:, None], data['class_tokens'][obj_label], data['tokens'][idx])
    labels = torch.where(sel[:, None], single, data['labels'][idx])
    return augment((images - mean) / std, boxes, gen, VIEW_SIZE), tokens, labels


def pretrain_clip(args: PretrainClipOptions) -> None:
    """Pretrain the tiny CLIP, save it at ``args.out`` and measure the crop gate."""
    from open_clip.model import CLIP
    from open_clip.tokenizer import SimpleTokenizer
    from tqdm import tqdm

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    spec = SPLITS['clip']
    out = args.out or tiny_clip_checkpoint(args.world)
    scenes = make_scenes(args.scenes, spec.seed, spec.base_only, world=args.world,
                         wrap=lambda it: tqdm(it, desc='clip scenes', mininterval=5))
    tokenizer = SimpleTokenizer(context_length=OV_SHAPES_CLIP['text_cfg']['context_length'])
    data = build_data(scenes, tokenizer)
    del scenes
    prompts = [t.format(c) for c in CLASSES for t in OV_SHAPES_TEMPLATES]
    keep_tokens = torch.unique(torch.cat([data['tokens'].unique(),
                                          used_tokens(tokenizer, prompts)]))
    n = len(data['tokens'])
    t_data = time.time() - t0
    print(f'data: {n} scenes in {t_data:.0f}s', flush=True)

    model = CLIP(**OV_SHAPES_CLIP)
    if args.init:
        from ..checkpoint import read_checkpoint
        model.load_state_dict({k: v.float() for k, v in read_checkpoint(args.init).items()})
    model.to(args.device)
    opt = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=args.lr,
                            betas=(0.9, 0.98), eps=1e-6)
    order, pos = torch.randperm(n, generator=gen), 0
    model.train()
    t1, running = time.time(), 0.0
    for step in range(args.steps):
        if pos + args.batch_size > n:
            order, pos = torch.randperm(n, generator=gen), 0
        idx = order[pos:pos + args.batch_size]
        pos += args.batch_size
        x, tokens, labels = make_batch(data, idx, gen, args.object_views)
        x, tokens = x.to(args.device), tokens.to(args.device)
        for g in opt.param_groups:
            g['lr'] = lr_at(step, args.steps, args.warmup, args.lr)
        img = F.normalize(model.encode_image(x), dim=-1)
        txt = F.normalize(model.encode_text(tokens), dim=-1)
        neg_txt = neg_keys = None
        if not args.no_hard_negatives:
            neg = shape_swapped(labels, gen)
            neg_caps = [caption_for([c for c in row if c >= 0]) for row in neg.tolist()]
            neg_txt = F.normalize(model.encode_text(tokenizer(neg_caps).to(args.device)), dim=-1)
            neg_keys = object_sets(neg).to(args.device)
        loss = soft_clip_loss(img, txt, model.logit_scale.exp(),
                              object_sets(labels).to(args.device), neg_txt, neg_keys)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        running += loss.item()
        if (step + 1) % args.log_interval == 0:
            per_step = (time.time() - t1) / (step + 1)
            eta = per_step * (args.steps - step - 1) / 60
            print(f'step {step + 1}/{args.steps} loss {running / args.log_interval:.3f} '
                  f'scale {model.logit_scale.exp().item():.1f} '
                  f'lr {opt.param_groups[0]["lr"]:.2e} {per_step:.2f}s/step eta {eta:.1f}min',
                  flush=True)
            running = 0.0
    t_train = time.time() - t1

    atomic_torch_save(export_state_dict(model.cpu(), keep_tokens, fp16=not args.fp32), out)
    size = os.path.getsize(out) / 2 ** 20
    print(f'saved {out} ({size:.1f} MiB); data {t_data:.0f}s, training {t_train / 60:.1f} min',
          flush=True)
    if args.eval_scenes <= 0:
        return
    visual, text = probe.load_tiny_clip(out, mode='csa')
    test = SPLITS['test']
    eval_scenes = make_scenes(args.eval_scenes, test.seed, test.base_only, world=args.world)
    res = probe.evaluate(visual, probe.class_embeddings(text), eval_scenes, what='crop')
    verdict = 'PASS' if res['all'] >= GATE else 'FAIL'
    print(f"crop gate on {args.eval_scenes} {args.world} px test scenes ({int(res['objects'])} objects): "
          f"{res['all']:.1f}% (base {res['base']:.1f}, novel {res['novel']:.1f}, "
          f"colour {res['colour']:.1f}, shape {res['shape']:.1f}); gate {GATE:.0f}%: {verdict}",
          flush=True)
