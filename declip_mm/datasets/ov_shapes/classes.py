"""OV-Shapes vocabulary: 6 colours x 5 shapes = 30 classes, 6 of them held out as NOVEL.

Classes are ``'<colour> <shape>'`` in colour-major order (class index
``len(SHAPES) * colour + shape``). The novel combinations are fixed so that every colour and
every shape still occurs in at least four base classes: a model trained on base classes has
seen each attribute, only not the pairing (the compositional split of the proving ground).
"""
from typing import Dict, List, Tuple

COLOURS: Dict[str, Tuple[int, int, int]] = {
    'red': (220, 40, 40),
    'green': (40, 170, 55),
    'blue': (45, 80, 225),
    'yellow': (235, 215, 45),
    'purple': (150, 55, 200),
    'cyan': (40, 200, 215),
}
"""Name -> nominal RGB; the six well separated hues a tiny model tells apart under noise."""

SHAPES: Tuple[str, ...] = ('circle', 'square', 'triangle', 'ring', 'bar')
"""Shapes a tiny model separates (star vs circle and cross vs square did not work)."""

CLASSES: Tuple[str, ...] = tuple(f'{c} {s}' for c in COLOURS for s in SHAPES)
"""All 30 class names, colour-major."""

NOVEL_CLASSES: Tuple[str, ...] = ('red ring', 'green triangle', 'blue bar', 'yellow square',
                                  'purple circle', 'cyan triangle')
"""Held-out combinations: one per colour; every shape at least once (triangle twice)."""

BASE_CLASSES: Tuple[str, ...] = tuple(c for c in CLASSES if c not in NOVEL_CLASSES)
"""The 24 base classes, in ``CLASSES`` order."""

NOVEL_IDS: Tuple[int, ...] = tuple(CLASSES.index(c) for c in NOVEL_CLASSES)
BASE_IDS: Tuple[int, ...] = tuple(CLASSES.index(c) for c in BASE_CLASSES)


def class_index(colour: str, shape: str) -> int:
    """Index into ``CLASSES`` of a (colour, shape) pair."""
    return list(COLOURS).index(colour) * len(SHAPES) + SHAPES.index(shape)


def colour_of(label: int) -> int:
    """Colour index (0..5) of a class index."""
    return int(label) // len(SHAPES)


def shape_of(label: int) -> int:
    """Shape index (0..4) of a class index."""
    return int(label) % len(SHAPES)


def caption_for(labels: List[int]) -> str:
    """``[3, 14] -> 'a red ring and a yellow bar'`` (objects in the given order)."""
    return ' and '.join(f'a {CLASSES[i]}' for i in labels)


def palette(num: int = len(CLASSES)) -> List[Tuple[int, int, int]]:
    """A drawing colour per class for visualisers (the class's own hue, shaded by shape)."""
    out = []
    for i in range(num):
        rgb = COLOURS[list(COLOURS)[colour_of(i)]]
        f = 0.6 + 0.1 * shape_of(i)
        out.append(tuple(int(min(255, v * f)) for v in rgb))
    return out
