"""Validate a frame larger than the memory budget in strips of whole rows.

A frame whose decode would exceed the budget (a 16000x16000 render, a ZIP-bomb
EXR) is not refused: its data window is decoded a strip of rows at a time —
OpenImageIO ``read_scanlines`` for scanline files, ``read_tiles`` over whole
rows of tiles for tiled ones — and each strip feeds
:class:`~hdrpipe.validation.pixels.StripStats`, so the pixel checks (NaN, Inf,
negative, gamut, bit depth, the generated-footage statistics) see every row
and give the same result as a full read. A strip holds at most
:data:`STRIP_SHARE` of the budget (the rest covers the decoder's own buffers
and the samples kept across strips). Only a frame of which even one row (one
row of tiles) would exceed that is refused, before any pixel is decoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

from ..errors import InputError
from ..exr import (
    ExrHeader,
    _check_sane,
    _open,
    _read_request,
    _rgba_indices,
    _selected,
    read_rows,
)
from ..memory import format_size
from .pixels import FrameStats, StripStats

__all__ = [
    "STRIP_BYTES_PER_DECODED",
    "STRIP_SHARE",
    "StripBudgetError",
    "decode_strips",
    "strip_rows",
    "strip_stats",
]

#: Share of the memory budget one strip (decoded samples and the statistics'
#: temporaries) may take.
STRIP_SHARE = 0.5
#: Bytes held while one strip is validated, per byte of its decoded samples:
#: OpenImageIO's ``read_scanlines``/``read_tiles`` decode into a buffer of
#: their own and copy it into the array they return (the strip is held twice
#: while it is read), plus the statistics' blocks and samples.
STRIP_BYTES_PER_DECODED = 2.2


class StripBudgetError(InputError):
    """Even one row (row of tiles) of the frame exceeds the budget (exit 2)."""


def strip_rows(header: ExrHeader, budget: int, bytes_per_decoded: float) -> int:
    """Rows per strip so that one strip costs at most ``STRIP_SHARE × budget``.

    ``bytes_per_decoded``: bytes held per byte of decoded samples (the
    validation pass's own factor). At least 1; tiled files round it down to
    whole rows of tiles in :func:`decode_strips`.
    """
    width, height = header.data_size
    per_pixel = sum(2 if c.pixel_type == "half" else 4 for c in header.channels)
    row_cost = max(int(width * max(per_pixel, 2) * bytes_per_decoded), 1)
    rows = int(budget * STRIP_SHARE) // row_cost
    if rows < 1:
        raise StripBudgetError(
            f"{header.path}: one row of {width} pixels needs about "
            f"{format_size(row_cost)} to validate, over {STRIP_SHARE:.0%} of the "
            f"memory budget {format_size(budget)}; refused before decoding"
        )
    return min(rows, height)


def decode_strips(
    path: str | Path, rows: int, *, rgba: bool = True, max_pixels: int = 1 << 28
) -> Iterator[NDArray[Any]]:
    """Decode the data window of part 0 in strips of at most ``rows`` whole rows.

    Yields C-contiguous (n, W, C) arrays top to bottom, in the stored precision
    (float16 when every channel read is half, else float32), of the R, G, B(, A)
    channels :func:`hdrpipe.exr.rgb_channels` picks (``rgba``) or of every
    channel. A tiled file is read in whole rows of tiles: ``rows`` is rounded
    down to a multiple of the tile height.

    Raises
    ------
    InputError
        Unreadable or damaged file, absurd header, missing R/G/B channel.
    StripBudgetError
        ``rows`` is less than one row of tiles.
    """
    p = Path(path)
    inp = _open(p)
    try:
        spec = inp.spec()
        _check_sane(p, spec, max_pixels)
        names = tuple(spec.channelnames)
        idx = _rgba_indices(p, names, True) if rgba else list(range(len(names)))
        fmt = _read_request(inp, spec, idx)
        lo, hi = min(idx), max(idx) + 1
        tile = int(spec.tile_height)
        step = rows if tile <= 0 else rows // tile * tile
        if step <= 0:
            raise StripBudgetError(
                f"{p}: one row of {spec.tile_width}x{tile} tiles is more than the "
                f"{rows} row(s) the memory budget allows; refused"
            )
        for _y, raw in read_rows(inp, spec, p, step, (lo, hi), fmt):
            yield _selected(raw, spec, idx, lo)
    finally:
        inp.close()


def strip_stats(
    path: str | Path,
    header: ExrHeader,
    rows: int,
    *,
    rgb: bool,
    want_pixels: bool,
    want_gamut: bool,
    want_bit_depth: bool,
    want_footage: bool,
    want_spectrum: bool,
) -> FrameStats | None:
    """The :class:`FrameStats` of the frame at ``path``, read in strips of ``rows``.

    None when statistics are not wanted (``want_pixels`` false) or the frame
    has no R, G, B (``rgb`` false): then every channel is decoded strip by
    strip only to prove the frame readable.
    """
    if not (rgb and want_pixels):
        for _strip in decode_strips(path, rows, rgba=rgb):
            pass
        return None
    width, height = header.data_size
    acc = StripStats(
        height,
        width,
        want_gamut=want_gamut,
        want_bit_depth=want_bit_depth,
        want_footage=want_footage,
        want_spectrum=want_spectrum,
    )
    for strip in decode_strips(path, rows):
        acc.add(strip)
    return acc.result()
