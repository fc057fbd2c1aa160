"""End-to-end parity with CLIPSelf's F-ViT on a tiny tower, from a fixture made by
tools/dev/check_fvit_parity.py --tiny --fixture (tensors only: CLIPSelf's random weights in its
own key layout, the inputs, its class-embedding table, and the outputs CLIPSelf's mmdet-2 code
computed for every stage). Here the weights are converted, loaded into our F-ViT and run."""
import os

import pytest
import torch

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data',
                       'fvit_parity_tiny.pt')


@pytest.fixture(scope='module')
def figures(tmp_path_factory):
    from declip_mm.testing.scripts import load_script
    run_ours = load_script('tools/dev/check_fvit_parity.py').run_ours
    up = torch.load(FIXTURE, map_location='cpu', weights_only=False)
    torch.manual_seed(0)
    fig, missing, unexpected, _, n = run_ours(up, str(tmp_path_factory.mktemp('parity')))
    return fig, missing, unexpected, n, up


def test_converted_weights_load_exactly(figures):
    fig, missing, unexpected, n, up = figures
    assert missing == [] and unexpected == [] and n > 100


def test_every_stage_within_1e4(figures):
    fig = figures[0]
    assert max(fig['pyramid']) < 1e-4 and max(fig['fpn']) < 1e-4 and fig['dense'] < 1e-4
    assert all(a == b for a, b in fig['proposal_counts'])
    assert max(fig['proposal_scores']) < 1e-4 and max(fig['proposal_boxes']) < 1e-3
    assert fig['roi_scores'] < 1e-4 and fig['roi_deltas'] < 1e-4


def test_same_detections(figures):
    for det in figures[0]['detections']:
        assert det['count'][0] == det['count'][1] > 0
        assert det['same_labels'] == det['count'][0]
        assert det['scores'] < 1e-4 and det['boxes'] < 1e-3
