# The 'csa' variant of the B/16 recipe: csa content attention (q-q + k-k) and the Q and K
# context features (heads merged, the mean of their similarities), nothing of the last block's
# attention frozen. This is the inference mode of the released DeCLIP checkpoints; the official
# scripts train qq (declip_eva02-b16_dinov2-b14_4xb4-6e_coco.py). Validation runs in csa mode.
_base_ = ['./declip_eva02-b16_dinov2-b14_4xb4-6e_coco.py']

model = dict(student=dict(mode='csa'))
