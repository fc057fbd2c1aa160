"""``skimage://NAME`` image paths: the CC0 / public-domain photos bundled with scikit-image.

Registering this mmengine file backend lets the standard ``LoadImageFromFile`` read
``skimage://astronaut`` (or ``coffee``, ``chelsea``, ``rocket``, ...) from memory, so the tiny
distillation config runs offline without writing a data folder first. The photo is encoded
as PNG bytes, as if read from disk. Only names of ``skimage.data`` functions that return an
image with no download are accepted.
"""
import io
from functools import lru_cache
from typing import Union

import numpy as np
from mmengine.fileio.backends import BaseStorageBackend, register_backend

from ...utils.errors import DataError

SKIMAGE_PHOTOS = ('astronaut', 'coffee', 'chelsea', 'cat', 'rocket', 'camera', 'coins',
                  'hubble_deep_field', 'retina', 'immunohistochemistry')
"""Photos bundled in the scikit-image wheel (no network needed)."""


def skimage_photo(name: str) -> np.ndarray:
    """The bundled photo ``name`` as an ``(H, W, 3)`` uint8 RGB array."""
    if name not in SKIMAGE_PHOTOS:
        raise DataError(f'skimage://{name}: not a bundled scikit-image photo; use one of '
                        f'{", ".join(SKIMAGE_PHOTOS)}')
    from skimage import data
    img = np.asarray(getattr(data, name)())
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    return np.ascontiguousarray(img[..., :3]).astype(np.uint8)


def png_bytes(img: np.ndarray) -> bytes:
    """Encode an RGB uint8 array as PNG bytes (through Pillow)."""
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format='PNG')
    return buf.getvalue()


@lru_cache(maxsize=len(SKIMAGE_PHOTOS))
def skimage_png(name: str) -> bytes:
    """PNG bytes of a bundled photo (encoded once per process)."""
    return png_bytes(skimage_photo(name))


class SkimageBackend(BaseStorageBackend):
    """Read-only backend for ``skimage://NAME`` URIs."""

    def get(self, filepath: Union[str, 'object']) -> bytes:
        return skimage_png(str(filepath).split('://', 1)[-1].strip('/'))

    def get_text(self, filepath, encoding: str = 'utf-8') -> str:
        raise DataError(f'{filepath}: skimage:// paths are images, not text files')


register_backend('declip_skimage', SkimageBackend, prefixes='skimage')
