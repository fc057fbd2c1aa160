"""``DeCLIPLoadImageFromFile`` judges a file by decoding it: damage the decoder reports (also in
the middle of a JPEG whose end marker is intact) and images below ``min_size`` are one
``DataError`` naming the file, or skipped with a warning."""
import cv2
import numpy as np
import pytest

from declip_mm.engine.image_loading import DeCLIPLoadImageFromFile, decode_checked
from declip_mm.utils.errors import DataError


@pytest.fixture(scope='module')
def photo():
    from skimage import data
    return np.ascontiguousarray(data.astronaut()[::4, ::4, ::-1])  # (128, 128, 3) BGR


def _damaged(photo):
    jpg = cv2.imencode('.jpg', photo)[1].tobytes()
    png = cv2.imencode('.png', photo)[1].tobytes()
    mid = len(jpg) // 3
    return {
        'jpeg cut, end marker kept': jpg[:len(jpg) // 2] + jpg[-2:],
        'jpeg zeroed mid-file': jpg[:mid] + bytes(200) + jpg[mid + 200:],
        'jpeg cut': jpg[:int(len(jpg) * 0.6)],
        'png cut': png[:len(png) // 2],
        'png zeroed mid-file': png[:len(png) // 2] + bytes(50) + png[len(png) // 2 + 50:],
        'empty': b'',
    }


def test_sound_files_decode_exactly(photo, tmp_path):
    for ext in ('.png', '.jpg'):
        data = cv2.imencode(ext, photo)[1].tobytes()
        img, problem = decode_checked(data)
        assert problem is None
        assert np.array_equal(img, cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
    path = tmp_path / 'good.png'
    cv2.imwrite(str(path), photo)
    out = DeCLIPLoadImageFromFile()(dict(img_path=str(path)))
    assert np.array_equal(out['img'], photo) and out['ori_shape'] == photo.shape[:2]


def test_damage_is_found_by_decoding(photo, tmp_path):
    for name, data in _damaged(photo).items():
        _, problem = decode_checked(data)
        assert problem is not None, name
        path = tmp_path / 'bad.img'
        path.write_bytes(data)
        for backend in ('cv2', 'pillow'):
            with pytest.raises(DataError, match=f'corrupt or unreadable image {path}: '):
                DeCLIPLoadImageFromFile(imdecode_backend=backend)(dict(img_path=str(path)))
        assert DeCLIPLoadImageFromFile(on_error='skip')(dict(img_path=str(path))) is None
    # the mid-file JPEG damage is libjpeg's own report, not a guess from the file's end
    _, problem = decode_checked(_damaged(photo)['jpeg cut, end marker kept'])
    assert problem.startswith('the decoder reports: Corrupt JPEG data')


def test_degenerate_image_sizes_are_refused(tmp_path):
    path = tmp_path / 'dot.png'
    cv2.imwrite(str(path), np.zeros((1, 1, 3), np.uint8))
    with pytest.raises(DataError, match=f'{path}: the image is 1x1 pixels, smaller than '
                                        'min_size=2'):
        DeCLIPLoadImageFromFile()(dict(img_path=str(path)))
    assert DeCLIPLoadImageFromFile(on_error='skip')(dict(img_path=str(path))) is None
    assert DeCLIPLoadImageFromFile(min_size=1)(dict(img_path=str(path)))['img'].shape == (1, 1, 3)
