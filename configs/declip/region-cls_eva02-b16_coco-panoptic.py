# Region classification on COCO panoptic val2017 with ground-truth boxes and masks (DeCLIP's
# validation protocol): box / mask / crop / masked-crop top-1 and top-5 mean class accuracy,
# thing and stuff.
# Works for any DeCLIPViT checkpoint: an ensembled backbone from DeCLIPEnsembleCheckpointHook,
# an official DeCLIP / EVA-CLIP file, or an mmengine DeCLIPDistiller checkpoint (its student):
#   python tools/test.py configs/declip/region-cls_eva02-b16_coco-panoptic.py CHECKPOINT
# Use the mode the checkpoint was distilled in ('csa' for the released DeCLIP weights,
# --cfg-options model.backbone.mode=qq for qq-distilled ones, such as those of the default
# distillation configs, vanilla for plain CLIP).
_base_ = ['../_base_/default_runtime_det.py']

custom_imports = dict(
    imports=['declip_mm', 'declip_mm.datasets.distill', 'declip_mm.evaluation.region_cls'],
    allow_failed_imports=False)

data_root = 'data/coco/'
# official DeCLIP metadata/ file: (133, 512) COCO-panoptic class embeddings
class_embeddings = 'checkpoints/coco_panoptic_clip_hand_craft_EVACLIP_ViTB16.npy'
student_size, student_patch = 560, 16
crop_size = 224

model = dict(
    type='DeCLIPRegionClassifier',
    backbone=dict(type='DeCLIPViT', arch='EVA02-CLIP-B-16', mode='csa', attn_scale='auto'),
    classifier=dict(type='DeCLIPRegionTextClassifier', class_embeddings=class_embeddings,
                    topk=5),
    data_preprocessor=dict(type='DeCLIPDistillDataPreprocessor'))

test_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='DeCLIPLoadPanopticRegions', min_size=8, max_size=1024, max_regions=100),
    dict(type='DeCLIPRegionEvalCrops', size=crop_size),
    dict(type='DeCLIPResizePad', size=student_size),
    dict(type='DeCLIPRegionMasksToGrid', grid=student_size // student_patch),
    dict(type='PackDeCLIPRegionInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='DeCLIPCocoPanopticRegionDataset',
        data_root=data_root,
        ann_file='annotations/panoptic_val2017.json',
        data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
        test_mode=True,
        pipeline=test_pipeline))
test_evaluator = dict(type='DeCLIPRegionClsMetric')
test_cfg = dict(type='TestLoop')
