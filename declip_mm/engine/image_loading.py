"""``DeCLIPLoadImageFromFile``: mmcv's image loader with one clear outcome for a bad file.

mmcv's ``LoadImageFromFile`` fails on an unreadable file with a bare ``AssertionError`` deep in
a data-loader traceback, or, with ``ignore_empty=True``, silently trains on another image. And
decoders let some damage through: libjpeg *warns* (on stderr) about a JPEG whose data is cut
short or garbled, fills the damaged rows with grey or noise, and returns an image. This loader
lets the decoder judge: every image is decoded with OpenCV while the C-level stderr is captured,
and a decoder failure, or a libjpeg "Corrupt JPEG data" / "Premature end of JPEG file"
warning, counts as a corrupt file (so a file cut anywhere, or corrupted mid-file with its end
marker kept, is caught). Images smaller than ``min_size`` pixels on a side are refused too
(a 1 x 1 image breaks mmdet's and mmseg's transforms and losses). On failure it either

* ``on_error='raise'`` (default): raises ``DataError`` naming the file; the tools print it as one
  line and stop;
* ``on_error='skip'``: logs one warning naming the file and returns ``None``, so an mmengine
  dataset in training mode draws another sample instead (test-mode datasets refuse ``None``;
  skipping is for training pipelines only).

A JPEG has no checksum: damage that still decodes to valid codes (a flipped bit inside the
compressed data) is invisible to every decoder, and so to this loader.

Registered in mmengine's root ``TRANSFORMS`` (mmdet and mmseg pipelines both find it); the
shipped configs name it in their pipelines.
"""
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from typing import Iterator, List, Optional, Set, Tuple

import cv2
import mmcv
import numpy as np
from mmcv.image.io import imread_flags
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.logging import print_log

from ..registry import TRANSFORMS
from ..utils.errors import DataError

DECODER_DAMAGE = re.compile(r'(Corrupt JPEG data[^\n]*|Premature end of JPEG file|'
                            r'Invalid JPEG file structure[^\n]*|libpng error[^\n]*)')
"""Messages libjpeg / libpng print on stderr for a damaged file they may still decode."""


@contextmanager
def captured_c_stderr() -> Iterator[List[str]]:
    """Capture what C libraries write to file descriptor 2 inside the block (the list gets the
    text on exit); Python's ``sys.stderr`` is flushed first and keeps working."""
    sys.stderr.flush()
    saved = os.dup(2)
    out: List[str] = []
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield out
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read().decode('utf-8', 'replace'))


def decode_checked(data: bytes, flag: int = cv2.IMREAD_COLOR
                   ) -> Tuple[Optional[np.ndarray], Optional[str]]:
    """Decode ``data`` with ``cv2.imdecode(data, flag)`` (BGR): ``(image, None)`` or
    ``(None, why the file is bad)``.

    A decoder failure or a damage warning of libjpeg / libpng is a bad file; other messages the
    decoders print (e.g. libpng's about colour profiles) are passed on to stderr.
    """
    if not data:
        return None, 'the file is empty'
    with captured_c_stderr() as messages:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    text = messages[0] if messages else ''
    damage = DECODER_DAMAGE.search(text)
    if damage:
        return None, f'the decoder reports: {damage.group(1).strip()}'
    if img is None or img.size == 0:
        return None, 'it cannot be decoded as an image'
    if text:
        sys.stderr.write(text)  # not about damage (e.g. libpng on colour profiles): pass it on
    return img, None


@TRANSFORMS.register_module()
class DeCLIPLoadImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` that raises ``DataError`` (or skips with a warning) on bad images.

    Args:
        on_error: ``'raise'`` or ``'skip'`` (see the module docstring). mmcv's
            ``ignore_empty=True`` means ``'skip'``.
        min_size: smallest accepted height and width in pixels.
        **kwargs: mmcv ``LoadImageFromFile`` arguments (``to_float32``, ``color_type``,
            ``imdecode_backend``, ``backend_args`` ...).
    """

    def __init__(self, on_error: str = 'raise', min_size: int = 2, **kwargs) -> None:
        super().__init__(**kwargs)
        if on_error not in ('raise', 'skip'):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        self.on_error = 'skip' if self.ignore_empty else on_error
        self.min_size = int(min_size)
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
        cv2_flag = imread_flags.get(self.color_type, cv2.IMREAD_COLOR)
        img, problem = decode_checked(data, cv2_flag)  # what mmcv's cv2 backend decodes
        if problem is None and self.imdecode_backend != 'cv2':
            try:  # the configured backend, on a file the decoders found sound
                img = mmcv.imfrombytes(data, flag=self.color_type, backend=self.imdecode_backend)
            except Exception as err:
                img, problem = None, f'{type(err).__name__}: {err}'
        if problem is None and (img is None or img.size == 0):
            problem = 'it cannot be decoded as an image'
        if problem is None and min(img.shape[:2]) < self.min_size:
            problem = (f'the image is {img.shape[1]}x{img.shape[0]} pixels, smaller than '
                       f'min_size={self.min_size}')
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
