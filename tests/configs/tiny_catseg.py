# The B/16 CAT-Seg config at tiny sizes (random weights) on the tiny_seg set: the checkpoint
# converted from the official DeCLIP CAT-Seg layout must load into it through tools/test.py.
# Sizes are those of tools/dev/check_catseg_parity.py's 'tiny' case.
_base_ = ['../../configs/segmentation/catseg/catseg_declip-eva02-b16_4xb1-80k_coco-stuff171-384x384.py']
clip = dict(embed_dim=32,
            vision_cfg=dict(image_size=224, layers=9, width=64, head_width=16, patch_size=16,
                            mlp_ratio=2.6667, rope=True, subln=True, naiveswiglu=True,
                            pt_hw_seq_len=16),
            text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=2))
names = ['background', 'red box', 'blue disc']
model = dict(
    backbone=dict(arch=dict(clip, _delete_=True), init_cfg=None),
    text_encoder=dict(arch=dict(clip, _delete_=True), init_cfg=None),
    neck=dict(embed_dim=32, hidden_dim=32, appearance_guidance_dim=32, text_guidance_dim=32,
              pad_len=4),  # 256 (released) is slow on CPU; the weights are the same
    decode_head=dict(in_channels=32, channels=16, clip_width=64, decoder_dims=(32, 16),
                     guidance_dims=(32, 16), guidance_proj_dims=(16, 8), num_classes=3),
    train_class_names=names, test_class_names=names)
data_root = 'data/tiny_seg/'
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2560, 640), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
test_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='BaseSegDataset', data_root=data_root, img_suffix='.png',
                 seg_map_suffix='.png', data_prefix=dict(img_path='img_dir', seg_map_path='ann_dir'),
                 metainfo=dict(classes=tuple(names)), pipeline=test_pipeline))
val_dataloader = test_dataloader
