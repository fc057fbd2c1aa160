# The 'csa' variant of the L/14-336 recipe (see declip_eva02-b16_dinov2-b14_4xb4-6e_coco_csa.py).
_base_ = ['./declip_eva02-l14-336_dinov2-l14_4xb2-6e_coco.py']

model = dict(student=dict(mode='csa'))
