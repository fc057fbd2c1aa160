"""Tiny F-ViT fixtures (tests, docs checks): a DeCLIP F-ViT config on TINY_EVA and a tiny
COCO tree."""
import json
import os
from typing import Dict, List, Sequence

import numpy as np

# Classes drawn in the tiny COCO set: two OV-COCO base and two novel classes, one colour each.
DRAWN = {'person': (0, 0, 220), 'car': (220, 0, 0), 'dog': (0, 200, 0), 'cat': (200, 200, 0)}


def tiny_fvit_cfg(vocabulary=('person', 'car', 'dog', 'cat'), base_classes=('person', 'car'),
                  **overrides) -> Dict:
    """A DeCLIPFViT on TINY_EVA (patch 8: pyramid strides 2, 4, 8, 16, FPN 32 channels)."""
    from . import TINY_EVA
    bn = dict(type='BN', requires_grad=True)
    cfg = dict(
        type='DeCLIPFViT',
        vocabulary=vocabulary if isinstance(vocabulary, str) else list(vocabulary),
        base_classes=list(base_classes) if base_classes is not None else None,
        text_encoder=dict(type='DeCLIPTextEncoder', arch=TINY_EVA, templates='single'),
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[122.77, 116.75, 104.09],
                               std=[68.50, 66.63, 70.32], bgr_to_rgb=True, pad_size_divisor=16),
        backbone=dict(type='DeCLIPViT', arch=TINY_EVA, mode='csa', out_indices=(0, 1, 2, 3)),
        neck=[dict(type='DeCLIPPyramidAdapter', in_channels=64, norm_cfg=bn),
              dict(type='FPN', in_channels=[64] * 4, out_channels=32, num_outs=5)],
        rpn_head=dict(
            type='RPNHead', in_channels=32, feat_channels=32, num_convs=2,
            anchor_generator=dict(type='AnchorGenerator', scales=[4], ratios=[0.5, 1.0, 2.0],
                                  strides=[2, 4, 8, 16, 32]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                            target_stds=[1.0] * 4),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        roi_head=dict(
            type='DeCLIPFViTRoIHead',
            bbox_roi_extractor=dict(type='SingleRoIExtractor',
                                    roi_layer=dict(type='RoIAlign', output_size=7,
                                                   sampling_ratio=0),
                                    out_channels=32, featmap_strides=[2, 4, 8, 16]),
            vlm_roi_extractor=dict(type='SingleRoIExtractor',
                                   roi_layer=dict(type='RoIAlign', output_size=1,
                                                  sampling_ratio=0, use_torchvision=True),
                                   out_channels=32, featmap_strides=[8]),
            bbox_head=dict(type='DeCLIPOVBBoxHead', embed_dim=32, in_channels=32,
                           roi_feat_size=7, conv_out_channels=16, fc_out_channels=32,
                           norm_cfg=bn, bg_weight=0.6, vlm_temperature=75.0, alpha=0.1,
                           beta=0.8,
                           bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                           target_stds=[0.1, 0.1, 0.2, 0.2]),
                           loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False,
                                         loss_weight=1.0),
                           loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
        train_cfg=dict(
            rpn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                                   min_pos_iou=0.3, match_low_quality=True, ignore_iof_thr=-1),
                     sampler=dict(type='RandomSampler', num=64, pos_fraction=0.5,
                                  neg_pos_ub=-1, add_gt_as_proposals=False),
                     allowed_border=-1, pos_weight=-1, debug=False),
            rpn_proposal=dict(nms_pre=200, max_per_img=50, nms=dict(type='nms', iou_threshold=0.7),
                              min_bbox_size=0),
            rcnn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                                    min_pos_iou=0.5, match_low_quality=True, ignore_iof_thr=-1),
                      sampler=dict(type='RandomSampler', num=32, pos_fraction=0.25,
                                   neg_pos_ub=-1, add_gt_as_proposals=True),
                      pos_weight=-1, debug=False)),
        test_cfg=dict(
            rpn=dict(nms_pre=200, max_per_img=50, nms=dict(type='nms', iou_threshold=0.7),
                     min_bbox_size=0),
            rcnn=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=20)))
    cfg.update(overrides)
    from mmengine.config import ConfigDict
    return ConfigDict(cfg)


def draw_image(rng: np.random.Generator, size: int, boxes: List[Sequence]) -> np.ndarray:
    """A noisy BGR image with filled rectangles ``(x, y, w, h, colour)``."""
    img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
    for x, y, w, h, colour in boxes:
        img[y:y + h, x:x + w] = colour
    return img


def make_tiny_coco_tree(root: str, num_train: int = 4, num_val: int = 2, size: int = 96,
                        seed: int = 0) -> str:
    """COCO 2017 layout (``train2017/``, ``val2017/``, ``annotations/instances_*2017.json``) with
    all 80 COCO categories listed and rectangles of the ``DRAWN`` classes. Returns ``root``."""
    import cv2
    from mmdet.datasets import CocoDataset
    rng = np.random.default_rng(seed)
    coco_names = CocoDataset.METAINFO['classes']
    cats = [dict(id=i + 1, name=n, supercategory='thing') for i, n in enumerate(coco_names)]
    drawn = list(DRAWN)
    ann_id = 0
    for split, count in (('train2017', num_train), ('val2017', num_val)):
        os.makedirs(os.path.join(root, split), exist_ok=True)
        images, anns = [], []
        for i in range(count):
            boxes = []
            for j in range(2):
                name = drawn[(2 * i + j + (split == 'val2017')) % len(drawn)]
                w, h = (int(v) for v in rng.integers(size // 4, size // 2, 2))
                x = int(rng.integers(0, size // 2 - w // 2)) if j == 0 else size // 2
                y = int(rng.integers(0, size - h))
                w = min(w, size - x)
                boxes.append((x, y, w, h, DRAWN[name]))
                ann_id += 1
                anns.append(dict(id=ann_id, image_id=i + 1, iscrowd=0,
                                 category_id=coco_names.index(name) + 1,
                                 bbox=[x, y, w, h], area=w * h,
                                 segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]]))
            name = f'{i:06d}.png'
            cv2.imwrite(os.path.join(root, split, name), draw_image(rng, size, boxes))
            images.append(dict(id=i + 1, file_name=name, width=size, height=size))
        os.makedirs(os.path.join(root, 'annotations'), exist_ok=True)
        with open(os.path.join(root, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump(dict(images=images, annotations=anns, categories=cats), f)
    return root
