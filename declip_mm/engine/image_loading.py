"""``DeCLIPLoadImageFromFile``: mmcv's image loader with one clear outcome for a corrupt file.

mmcv's ``LoadImageFromFile`` fails on an unreadable file with a bare ``AssertionError`` deep in
a data-loader traceback, or, with ``ignore_empty=True``, silently trains on another image. And
some decoders (Pillow with ``ImageFile.LOAD_TRUNCATED_IMAGES``, OpenCV 4.x) decode a truncated
file without complaint, padding the missing rows with grey: a silent wrong result. This loader
checks the bytes first (empty file, PNG without its end chunk, JPEG without its end marker),
then decodes, and on failure either

* ``on_error='raise'`` (default): raises ``DataError`` naming the file; the tools print it as one
  line and stop;
* ``on_error='skip'``: logs one warning naming the file and returns ``None``, so an mmengine
  dataset in training mode draws another sample instead (test-mode datasets refuse ``None``;
  skipping is for training pipelines only).

Registered in mmengine's root ``TRANSFORMS`` (mmdet and mmseg pipelines both find it);
``tools/train.py`` / ``tools/test.py`` use it in place of ``LoadImageFromFile``.
"""
from typing import Optional, Set

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.logging import print_log

from ..registry import TRANSFORMS
from ..utils.errors import DataError

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
JPEG_SOI = b'\xff\xd8'


def image_bytes_problem(data: bytes) -> Optional[str]:
    """Why ``data`` is not a complete image file, or ``None`` if it looks complete.

    Only what decoders let through silently is checked here: an empty file, a PNG without its
    ``IEND`` chunk, a JPEG without its end-of-image marker in the last kilobyte.
    """
    if not data:
        return 'the file is empty'
    if data.startswith(PNG_SIGNATURE) and b'IEND' not in data[-64:]:
        return 'the PNG file is truncated (no IEND chunk)'
    if data.startswith(JPEG_SOI) and b'\xff\xd9' not in data[-1024:]:
        return 'the JPEG file is truncated (no end-of-image marker)'
    return None


@TRANSFORMS.register_module()
class DeCLIPLoadImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` that raises ``DataError`` (or skips with a warning) on bad images.

    Args:
        on_error: ``'raise'`` or ``'skip'`` (see the module docstring). mmcv's
            ``ignore_empty=True`` means ``'skip'``.
        **kwargs: mmcv ``LoadImageFromFile`` arguments (``to_float32``, ``color_type``,
            ``imdecode_backend``, ``backend_args`` ...).
    """

    def __init__(self, on_error: str = 'raise', **kwargs) -> None:
        super().__init__(**kwargs)
        if on_error not in ('raise', 'skip'):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        self.on_error = 'skip' if self.ignore_empty else on_error
        self._warned: Set[str] = set()

    def _read_bytes(self, path: str) -> bytes:
        if self.file_client_args is not None:
            return fileio.FileClient.infer_client(self.file_client_args, path).get(path)
        return fileio.get(path, backend_args=self.backend_args)

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']`` into ``results['img']`` (H, W, 3) uint8 or float32."""
        path = results['img_path']
        try:
            data = self._read_bytes(path)
        except Exception as err:  # missing file, permission, remote backend failure
            return self._fail(path, f'cannot read it ({type(err).__name__}: '
                                    f'{str(err).splitlines()[0] if str(err) else ""})')
        problem = image_bytes_problem(data)
        if problem is None:
            try:
                img = mmcv.imfrombytes(data, flag=self.color_type, backend=self.imdecode_backend)
            except Exception as err:
                img, problem = None, f'{type(err).__name__}: {err}'
            if img is None or img.size == 0:
                problem = problem or 'it cannot be decoded as an image'
        if problem is not None:
            return self._fail(path, problem)
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def _fail(self, path: str, problem: str) -> None:
        message = f'corrupt or unreadable image {path}: {problem}'
        if self.on_error == 'raise':
            raise DataError(message)
        if path not in self._warned:
            self._warned.add(path)
            print_log(f'{message}; skipped (on_error="skip"), another image is drawn',
                      logger='current', level=30)
        return None

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", on_error='{self.on_error}')"
