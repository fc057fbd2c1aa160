"""OV-Shapes worlds: the scene variants the generator can draw.

A :class:`World` fixes the image side, the object sizes and count, and which of the richer
scene features are switched on. ``'64'`` is the original proving ground (64 px, flat objects
that never overlap); its scenes are bit-identical to those made before worlds existed.
``'128'`` makes objects cover many ViT patches (a 16 x 16 grid at patch 8) and adds textured,
occluding and multi-part objects, so that patch-to-patch affinities have something to show.
Class semantics (colour x shape) and captions are the same in every world.
"""
from dataclasses import dataclass
from typing import Dict, Union


@dataclass(frozen=True)
class World:
    """One scene variant.

    Attributes:
        name: key in ``WORLDS`` (recorded in the COCO json's ``info['world']``).
        size: image side, px.
        min_size: smallest nominal object size and smallest longer side of a (visible)
            object box, px.
        max_size: largest nominal object size, px (bars may be up to 1.25x longer).
        max_objects: objects per scene are drawn from ``1 .. max_objects``.
        gap: boxes of objects that are not placed as occluders, grown by this many px,
            never overlap.
        texture: probability that an object carries a within-object brightness pattern
            (stripes, dots or checks).
        occlusion: probability that an object after the first is placed to overlap an
            earlier one (it is drawn on top; the earlier masks lose the covered pixels).
        parts: probability that an object is cut by 1-2 thin background gaps into
            several disconnected pieces of one instance.
        min_visible: share of its full area an occluded object must keep visible.
        min_piece: smallest connected piece (px) a cut or occluded mask may keep.
        data_root: default folder of the world's splits.
    """
    name: str
    size: int
    min_size: float
    max_size: float
    max_objects: int
    gap: int
    texture: float = 0.0
    occlusion: float = 0.0
    parts: float = 0.0
    min_visible: float = 1.0
    min_piece: int = 0
    data_root: str = 'data/ovshapes'

    @property
    def scale(self) -> float:
        """Size relative to the 64 px world (bar widths and background features scale)."""
        return self.size / 64.0

    @property
    def rich(self) -> bool:
        """Whether any of texture, occlusion or parts is switched on."""
        return self.texture > 0 or self.occlusion > 0 or self.parts > 0


WORLDS: Dict[str, World] = {
    '64': World(name='64', size=64, min_size=14, max_size=24, max_objects=4, gap=2,
                data_root='data/ovshapes'),
    '128': World(name='128', size=128, min_size=28, max_size=60, max_objects=4, gap=3,
                 texture=0.7, occlusion=0.5, parts=0.3, min_visible=0.6, min_piece=24,
                 data_root='data/ovshapes128'),
}
"""The worlds by name: ``'64'`` (the original, default) and ``'128'`` (the rich world)."""


def get_world(world: Union[str, int, World]) -> World:
    """The :class:`World` of a name (``'64'``, ``'128'``, or the int) or a World itself.

    Raises:
        ValueError: for an unknown name, naming the valid worlds.
    """
    if isinstance(world, World):
        return world
    key = str(world)
    if key not in WORLDS:
        raise ValueError(f'OV-Shapes: unknown world {world!r}; valid worlds: '
                         f'{", ".join(repr(k) for k in WORLDS)}')
    return WORLDS[key]
