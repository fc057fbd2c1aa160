# Training-free open-vocabulary segmentation on OV-Shapes with the shipped tiny DeCLIP encoder:
# words in, masks out, no training (configs/segmentation/training_free/ on the proving ground).
#
# * backbone: declip_mm/assets/ovshapes/tiny_declip.pt in 'csa' mode (the distilled dense map;
#   set backbone_mode='vanilla' and backbone_checkpoint='declip_mm://assets/ovshapes/tiny_clip.pt'
#   for plain CLIP);
# * text: the tiny CLIP's text tower, prompt 'a {}', the 30 '<colour> <shape>' classes;
# * data: the OV-Shapes test split at 64 x 64; background is ignored (OVShapesSegDataset), so
#   mmseg's IoUMetric reports the foreground mIoU. Larger images (tools/demo.py on your own
#   pictures) are resized to a short side of 64 and read in 64 px sliding windows.
#
#   python tools/test.py configs/ovshapes/seg_training-free_tiny-declip_ovshapes.py \
#       declip_mm/assets/ovshapes/tiny_declip.pt
#   python tools/demo.py data/ovshapes/test/images/000000.png --words "red circle,blue bar" \
#       --config configs/ovshapes/seg_training-free_tiny-declip_ovshapes.py --seg-thr 0.5
_base_ = ['../segmentation/training_free/_base_declip_eva02-b16_slide.py']

# modules, not names: a config keeps no imported constants, and shipped files are named
# 'declip_mm://...' (resolved where they are read), so a saved config holds no machine paths
import declip_mm.datasets.ov_shapes.arch as ovs_arch
import declip_mm.datasets.ov_shapes.classes as ovs_classes

backbone_mode = 'csa'
backbone_checkpoint = 'declip_mm://assets/ovshapes/tiny_declip.pt'
data_root = 'data/ovshapes/'

model = dict(
    data_preprocessor=dict(mean=list(ovs_arch.OV_SHAPES_MEAN), std=list(ovs_arch.OV_SHAPES_STD)),
    backbone=dict(arch=dict(ovs_arch.OV_SHAPES_CLIP, _delete_=True), mode=backbone_mode,
                  attn_scale='auto',  # head_dim ** -0.5 for this OpenAI-style tower
                  init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)),
    text_encoder=dict(arch=dict(ovs_arch.OV_SHAPES_CLIP, _delete_=True),
                      templates=list(ovs_arch.OV_SHAPES_TEMPLATES),
                      init_cfg=dict(type='Pretrained',
                                    checkpoint='declip_mm://assets/ovshapes/tiny_clip.pt')),
    class_names=list(ovs_classes.CLASSES),
    logit_scale=40,
    prob_thd=0.0,
    slide_crop=64,
    slide_stride=32)

test_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='Resize', scale=(1024, 64), keep_ratio=True),  # no-op on the 64 px scenes
    dict(type='LoadAnnotations'),  # background -> 255 (the dataset's reduce_zero_label)
    dict(type='PackSegInputs'),
]
test_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(type='OVShapesSegDataset', data_root=data_root,
                 data_prefix=dict(img_path='test/images', seg_map_path='test/semantic'),
                 pipeline=test_pipeline))
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
default_hooks = dict(logger=dict(interval=100))
