"""Grid pseudo-region sampler and the distillation transforms: invariants, hand-checked values."""
import numpy as np
import pytest

from declip_mm.datasets.distill import (DeCLIPGridRegions, DeCLIPRegionCrops, DeCLIPResizePad,
                                        PackDeCLIPDistillInputs, crop_window, grid_cells,
                                        grid_choices, resize_pad, sample_grid_regions)


def test_grid_choices_match_the_official_set():
    choices = grid_choices(6)
    assert choices[:7] == [(1, 1), (1, 2), (2, 1), (2, 2), (2, 3), (2, 4), (3, 2)]
    for m in range(1, 7):
        cols = sorted(n for mm, n in choices if mm == m)
        assert cols == list(range((m + 1) // 2, min(2 * m, 6) + 1))
    assert len(choices) == 2 + 4 + 5 + 5 + 4 + 4
    assert max(m * n for m, n in choices) == 36
    with pytest.raises(ValueError):
        grid_choices(0)


@pytest.mark.parametrize('rows,cols', [(1, 1), (2, 3), (5, 6), (6, 3)])
def test_cells_tile_the_image(rows, cols):
    w, h = 451.0, 300.0
    cells = grid_cells(rows, cols, w, h)
    assert cells.shape == (rows * cols, 4)
    areas = (cells[:, 2] - cells[:, 0]) * (cells[:, 3] - cells[:, 1])
    assert np.allclose(areas, w * h / (rows * cols), rtol=1e-5)
    assert areas.sum() == pytest.approx(w * h, rel=1e-5)
    assert cells[:, [0, 1]].min() == 0 and cells[:, 2].max() == pytest.approx(w) \
        and cells[:, 3].max() == pytest.approx(h)
    # no overlap: every pixel centre of a coarse lattice falls in exactly one cell
    ys, xs = np.meshgrid(np.arange(0.5, h, 7), np.arange(0.5, w, 7), indexing='ij')
    inside = ((xs[..., None] >= cells[:, 0]) & (xs[..., None] < cells[:, 2]) &
              (ys[..., None] >= cells[:, 1]) & (ys[..., None] < cells[:, 3]))
    assert (inside.sum(-1) == 1).all()


def test_sampler_keeps_at_most_max_boxes_of_one_grid():
    rng = np.random.RandomState(0)
    seen = set()
    for _ in range(300):
        boxes, (m, n) = sample_grid_regions(640, 427, max_split=6, max_boxes=20, rng=rng)
        seen.add((m, n))
        assert len(boxes) == min(m * n, 20)
        full = grid_cells(m, n, 640, 427)
        # every kept box is a distinct cell of the drawn grid
        idx = [int(np.argmin(np.abs(full - b).sum(1))) for b in boxes]
        assert np.allclose(full[idx], boxes) and len(set(idx)) == len(idx)
        if m * n <= 20:  # all cells kept: they tile the image
            areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
            assert areas.sum() == pytest.approx(640 * 427, rel=1e-5)
    assert len(seen) > 20  # the draw covers the choice set


def test_crop_window_rounds_and_scales():
    assert crop_window(np.array([10.4, 20.6, 30.5, 40.2]), 100, 100) == (10, 21, 30, 40)
    assert crop_window(np.array([0.0, 0.0, 0.2, 0.2]), 10, 10) == (0, 0, 1, 1)
    # crop_scale 2 doubles the box around its centre, clipped to the image
    assert crop_window(np.array([40.0, 40.0, 60.0, 60.0]), 100, 100, 2.0) == (30, 30, 70, 70)
    assert crop_window(np.array([0.0, 0.0, 20.0, 20.0]), 100, 100, 2.0) == (0, 0, 30, 30)


def test_resize_pad_long_side_and_padding():
    img = np.full((300, 451, 3), 200, np.uint8)
    out, scale = resize_pad(img, 560)
    assert out.shape == (560, 560, 3)
    assert scale == pytest.approx(min(round(300 * 560 / 451) / 300, 560 / 451))
    assert (out[:372] == 200).all() and (out[373:] == 0).all()   # bottom padding, black
    crop, _ = resize_pad(np.full((10, 40, 3), 9, np.uint8), 32, center=True)
    assert crop.shape == (32, 32, 3)
    assert (crop[12:20] == 9).all() and (crop[:12] == 0).all() and (crop[20:] == 0).all()


def ramp_image(h=180, w=240):
    """Pixel (y, x) holds x in channel 0 and y in channel 1: crops reveal where they came from."""
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = np.arange(w)[None, :]
    img[..., 1] = np.arange(h)[:, None]
    return img


def run_pipeline(img, seed=0, size=96, crop=48, vfm=84):
    np.random.seed(seed)
    results = dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2], img_path='x')
    for t in (DeCLIPGridRegions(max_split=6, max_boxes=20), DeCLIPRegionCrops(size=crop),
              DeCLIPResizePad(size=vfm, out_key='vfm_img'), DeCLIPResizePad(size=size)):
        results = t(results)
    return results


@pytest.mark.parametrize('seed', range(6))
def test_crops_match_their_boxes(seed):
    img = ramp_image()
    results = run_pipeline(img, seed)
    regions, crops = results['regions'], results['crops']
    assert len(regions) == len(crops) <= 20
    for box, crop in zip(regions, crops):
        x0, y0, x1, y1 = crop_window(box, 240, 180)
        valid = crop.sum(-1) > 0   # padding is black; the ramp is > 0 away from (0, 0)
        valid[crop[..., 0] + crop[..., 1] == 0] = False
        # the ramp's mean survives the resize: the crop's mean x / y is its window's centre
        assert crop[..., 0][valid].mean() == pytest.approx((x0 + x1 - 1) / 2, abs=1.5)
        assert crop[..., 1][valid].mean() == pytest.approx((y0 + y1 - 1) / 2, abs=1.5)


def test_packed_boxes_are_the_regions_on_the_student_canvas():
    img = ramp_image()
    results = run_pipeline(img, seed=3)
    packed = PackDeCLIPDistillInputs()(results)
    inputs, sample = packed['inputs'], packed['data_samples']
    k = len(results['regions'])
    assert inputs['student'].shape == (3, 96, 96) and inputs['vfm'].shape == (3, 84, 84)
    assert inputs['crops'].shape == (k, 3, 48, 48)
    assert sample.boxes.shape == (k, 4)
    scale = results['img_scale']
    assert scale == pytest.approx(96 / 240)
    back = sample.boxes.numpy() * 96 / scale
    assert np.allclose(back, results['regions'], atol=1e-3)
    # boxes are normalised to the padded square canvas: the image covers y <= 180 * 0.4 / 96
    assert sample.boxes[:, 3].max().item() == pytest.approx(72 / 96, abs=1e-4)
    assert sample.grid_shape == results['grid_shape']
    # the student view's content sits top-left, the rest is black padding
    assert inputs['student'][:, 72:].sum() == 0


def test_grid_regions_skip_tiny_images():
    assert DeCLIPGridRegions()(dict(img=np.zeros((5, 100, 3), np.uint8))) is None
