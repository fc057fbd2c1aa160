# DeCLIP distillation of EVA02-CLIP-B/16 with DINOv2-B/14 (registers) as the context teacher, as
# the official --mode qq_vfm_distill runs it: qq content attention, Q as the context feature, the
# last block's k_proj frozen (with the rest of the official freeze list), content weight 1.0,
# context weight 0.1; the content teacher is the student's frozen copy (plain CLIP); validation
# classifies COCO-panoptic regions against the official class embeddings.
clip_checkpoint = 'checkpoints/EVA02_CLIP_B_psz16_s8B.pt'          # EVA-CLIP release
vfm_checkpoint = 'checkpoints/dinov2_vitb14_reg4_pretrain.pth'     # torch.hub DINOv2 file
# official DeCLIP metadata/ file: (133, 512) COCO-panoptic class embeddings
class_embeddings = 'checkpoints/coco_panoptic_clip_hand_craft_EVACLIP_ViTB16.npy'

model = dict(
    type='DeCLIPDistiller',
    student=dict(type='DeCLIPViT', arch='EVA02-CLIP-B-16', mode='qq', attn_scale='auto',
                 init_cfg=dict(type='Pretrained', checkpoint=clip_checkpoint)),
    vfm=dict(type='DeCLIPDINOv2Teacher', arch='vitb14_reg', checkpoint=vfm_checkpoint, fp16=True),
    content_loss=dict(type='DeCLIPContentLoss', loss_weight=1.0),
    context_loss=dict(type='DeCLIPContextLoss', loss_weight=0.1),
    val_classifier=dict(type='DeCLIPRegionTextClassifier', class_embeddings=class_embeddings),
    data_preprocessor=dict(type='DeCLIPDistillDataPreprocessor'))
