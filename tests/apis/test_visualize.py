"""declip_mm.apis.visualize: drawing leaves the caller's prediction as it was."""
import numpy as np
import torch
from mmengine.structures import PixelData


def test_draw_prediction_leaves_the_sample_unchanged(tmp_path):
    from mmseg.structures import SegDataSample

    from declip_mm.apis.visualize import draw_prediction
    sample = SegDataSample()
    sample.seg_logits = PixelData(data=torch.tensor([[[0.2, 0.95], [0.1, 0.3]],
                                                     [[0.5, 0.01], [0.4, 0.2]]]))
    sample.pred_sem_seg = PixelData(data=torch.tensor([[[1, 0], [1, 1]]]))
    out = tmp_path / 'v.png'
    # seg_thr 0.9 unpaints three pixels and draw_size 16 enlarges 8x -- on a copy only
    draw_prediction(np.zeros((2, 2, 3), np.uint8), sample, ['a', 'b'], str(out), 'mmseg',
                    seg_thr=0.9, draw_size=16)
    assert sample.pred_sem_seg.data.tolist() == [[[1, 0], [1, 1]]]
    assert sample.seg_logits.data.shape == (2, 2, 2)
    assert out.stat().st_size > 0
