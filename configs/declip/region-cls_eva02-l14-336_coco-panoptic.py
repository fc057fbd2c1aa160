# Region classification on COCO panoptic val2017 for EVA02-CLIP-L/14-336 based checkpoints.
#   python tools/test.py configs/declip/region-cls_eva02-l14-336_coco-panoptic.py CHECKPOINT
_base_ = ['./region-cls_eva02-b16_coco-panoptic.py']

class_embeddings = 'checkpoints/coco_panoptic_clip_hand_craft_EVACLIP_ViTL14x336.npy'
student_size, student_patch = 560, 14
crop_size = 336

model = dict(backbone=dict(arch='EVA02-CLIP-L-14-336'),
             classifier=dict(class_embeddings=class_embeddings))

test_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='DeCLIPLoadPanopticRegions', min_size=8, max_size=1024, max_regions=100),
    dict(type='DeCLIPRegionEvalCrops', size=crop_size),
    dict(type='DeCLIPResizePad', size=student_size),
    dict(type='DeCLIPRegionMasksToGrid', grid=student_size // student_patch),
    dict(type='PackDeCLIPRegionInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
