"""The frame :class:`Transform`: a scene-linear source to a named target, exactly.

The OCIO processor (cached per config, source, target end and look) renders
row strips of a frame on the colour pool (:mod:`.pool`); the numpy steps after
it (:class:`~.stage.PostStep`: HLG from the PQ render, BT.2390 retargeting)
finish the signal. The Transform gives its exact stage (:class:`~.stage.ExactStage`)
to the fast path (:mod:`.fastpath`), which may serve it from a verified LUT.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Literal

import numpy as np
import PyOpenColorIO as ocio  # noqa: N813
from numpy.typing import NDArray

from ..errors import ColorError
from .config import (
    ConfigInfo,
    clear_config_cache,
    one_line,
    resolve_config,
    scene_space_names,
)
from .fastpath import color_path_state
from .looks import Look, look_transform, parse_look
from .pool import STRIP_PIXELS, call_each, default_threads
from .stage import ExactStage, OcioEnd, PostStep
from .targets import Target, target_in

__all__ = ["Transform", "StripCallback", "clear_caches"]

log = logging.getLogger(__name__)

#: ``on_strip(first_row, rows)`` of :meth:`Transform.apply`.
StripCallback = Callable[[int, NDArray[np.float32]], None]

_processor_lock = threading.Lock()
_processor_cache: OrderedDict[Hashable, Any] = OrderedDict()
_PROCESSOR_CACHE_SIZE = 32


def clear_caches() -> None:
    """Forget cached configs and processors (tests; a config edited in place)."""
    with _processor_lock:
        _processor_cache.clear()
    clear_config_cache()


_PQ_DISPLAY = "Rec.2100-PQ - Display"


def _ocio_end(config: Any, target: Target) -> tuple[OcioEnd, bool]:
    """Return the OCIO end point for ``target`` and whether HLG is encoded in numpy.

    OCIO 2.6's built-in HLG display encoding (a ``REC2100_Surround`` fixed
    function for the inverse OOTF, then a 65536-entry half-domain LUT for the
    OETF) was measured up to 1.5 code values (10-bit) off BT.2100 below
    ~0.03 cd/m² (exact above). For HLG
    targets the ACES 2.0 view is therefore rendered to the config's PQ display
    (same view: same tone mapping, same Rec.2020 container) and re-encoded PQ →
    HLG with the exact BT.2100-2 equations (:mod:`.transfer`).
    """
    if target.kind == "colorspace":
        return OcioEnd(colorspace=target.colorspace), False
    if (
        target.transfer == "hlg"
        and _PQ_DISPLAY in config.getDisplaysAll()
        and target.view in config.getViews(_PQ_DISPLAY)
    ):
        return OcioEnd(display=_PQ_DISPLAY, view=target.view), True
    return OcioEnd(display=target.display, view=target.view), False


def _build_ocio_transform(
    config: Any, source: str, end: OcioEnd, look: Look | None
) -> Any:
    def finish(src: str) -> Any:
        if end.display is not None:
            return ocio.DisplayViewTransform(
                src=src, display=end.display, view=end.view
            )
        return ocio.ColorSpaceTransform(src=src, dst=end.colorspace)

    if look is None:
        return finish(source)
    space, look_tf = look_transform(look, config)
    return ocio.GroupTransform(
        [ocio.ColorSpaceTransform(src=source, dst=space), look_tf, finish(space)]
    )


def _post_step(target: Target, hlg_from_pq: bool) -> PostStep:
    """The numpy steps after OCIO for ``target`` (see :class:`PostStep`)."""
    retarget = None
    if target.retarget_from is not None:
        retarget = (
            target.retarget_from,
            target.peak_luminance or target.retarget_from,
        )
    return PostStep(
        hlg_peak=(target.peak_luminance or 1000.0) if hlg_from_pq else None,
        retarget=retarget,
    )


class Transform:
    """Colour-convert float32 frames from a scene-linear source to a named target.

    Display targets produce the display-ENCODED signal (PQ / HLG / BT.1886 code
    values in [0, 1], per ``target.transfer``); colorspace targets produce that
    colorspace's values. Frames are (H, W, 3|4) float32; alpha is passed through.
    A frame is cut into row strips evaluated on a thread pool (OCIO releases the
    GIL); each pixel is processed independently, so the result equals one
    ``applyRGB`` call on the whole frame. Processors are cached per
    (config, source, target, look). HLG targets render the same ACES 2.0 view
    to PQ in OCIO and re-encode to HLG with the exact BT.2100-2 equations (see
    :attr:`pipeline`; OCIO's HLG encoding approximates BT.2100 near black).

    Parameters
    ----------
    source
        OCIO colorspace of the input (name, alias or role), default ACES2065-1.
    target
        Target name (see :func:`targets`) or a :class:`Target`.
    look
        ASC CDL / LMT file path (``grade.ccc#id`` for a collection), a config
        look name, or a :class:`Look`; applied in ACES before the output transform.
    config
        OCIO config (see :func:`resolve_config`).
    threads
        Worker threads for the row strips (default: the CPUs this process may use).
    color_path
        ``"exact"`` (the OCIO processor), ``"fast"`` (verified baked LUT with exact
        fallback for pixels near the AP1 boundary, see :mod:`.fastpath`) or
        ``"auto"`` (fast when the bake and the first frame meet the accuracy
        budget, else exact). When not given: ``$HDRPIPE_COLOR_PATH``, else
        ``"exact"``. :attr:`color_path_info` records what was used and its error.
    """

    def __init__(
        self,
        source: str = "ACES2065-1",
        target: str | Target = "hdr-pq-1000-rec2020",
        look: str | os.PathLike[str] | Look | None = None,
        config: str | os.PathLike[str] | None = None,
        *,
        threads: int | None = None,
        color_path: Literal["auto", "exact", "fast"] | None = None,
    ) -> None:
        cfg, info = resolve_config(config)
        self.config_info: ConfigInfo = info
        self._config = cfg
        src = cfg.getColorSpace(source)
        if src is None:
            raise ColorError(
                f"unknown source colorspace {source!r} in {info.uri}; available: "
                + ", ".join(scene_space_names(cfg))
            )
        self.source: str = src.getName()
        self.target: Target = target_in(target, cfg, info)
        self.look: Look | None = None if look is None else parse_look(look, cfg)
        self.threads: int = max(1, int(threads)) if threads else default_threads()
        look_text = f" + look {self.look.label}" if self.look else ""
        self.description: str = f"{self.target.ocio_name}{look_text}"
        end, hlg_from_pq = _ocio_end(cfg, self.target)
        key = (
            info.uri,
            info.cache_id,
            self.source,
            end,
            None if self.look is None else self.look.key,
        )
        processor = self._cached_processor(key, end)
        self._post = _post_step(self.target, hlg_from_pq)
        self._stage = ExactStage(
            config=cfg,
            config_info=info,
            source=self.source,
            target=self.target,
            look=self.look,
            end=end,
            processor=processor,
            cpu=processor.getDefaultCPUProcessor(),
            post=self._post,
            threads=self.threads,
            description=self.description,
        )
        self._color_path = color_path_state(self._stage, color_path)

    @property
    def exact_stage(self) -> ExactStage:
        """The exact colour stage (OCIO processor, post step, target) as values:
        what the fast path bakes and verifies."""
        return self._stage

    def _cached_processor(self, key: Hashable, end: OcioEnd) -> Any:
        with _processor_lock:
            proc = _processor_cache.get(key)
            if proc is not None:
                _processor_cache.move_to_end(key)
                return proc
        try:
            tf = _build_ocio_transform(self._config, self.source, end, self.look)
            proc = self._config.getProcessor(tf)
        except ocio.Exception as err:
            raise ColorError(
                f"{self.config_info.uri}: cannot build {self.source} -> "
                f"{self.target.name}"
                + (f" with look {self.look.label}" if self.look else "")
                + f": {one_line(err)}"
            ) from err
        with _processor_lock:
            _processor_cache[key] = proc
            while len(_processor_cache) > _PROCESSOR_CACHE_SIZE:
                _processor_cache.popitem(last=False)
        log.debug("built OCIO processor %s -> %s", self.source, self.description)
        return proc

    @property
    def processor(self) -> Any:
        """The OCIO ``Processor`` of the OCIO stage (e.g. to bake a LUT or write a CLF).

        For HLG targets it ends at the PQ display; :attr:`pipeline` says so.
        """
        return self._stage.processor

    @property
    def pipeline(self) -> str:
        """The exact evaluation path, for the manifest."""
        look = f" -> look {self.look.label}" if self.look else ""
        end = self._stage.end.describe()
        return f"OCIO: {self.source}{look} -> {end}{self._post.describe()}"

    def to_dict(self) -> dict[str, Any]:
        """What the manifest records about this transform."""
        return {
            "config": self.config_info.to_dict(),
            "source": self.source,
            "target": self.target.to_dict(),
            "look": None if self.look is None else self.look.label,
            "description": self.description,
            "pipeline": self.pipeline,
            "color_path": self.color_path_info,
        }

    @property
    def color_path(self) -> str:
        """The colour path asked for: ``"auto"``, ``"exact"`` or ``"fast"``."""
        return self._color_path.requested

    @property
    def color_path_info(self) -> dict[str, Any]:
        """The path actually used (``"fast"``/``"exact"``), why, the bake identity and
        its measured error (p99.9 / max 10-bit code values, max ΔE_ITP)."""
        return self._color_path.info()

    def restart_count(self) -> None:
        """Count the fast path's routed pixels afresh: a Transform kept for another
        slice of a job (a farm worker's next chunk) reports that slice's
        ``routed_exact_fraction``. The bake, the first-frame check and its errors
        are kept: they are what reusing the Transform saves."""
        fast = self._color_path.fast
        if fast is not None:
            fast.restart_count()

    def __repr__(self) -> str:
        return (
            f"Transform(source={self.source!r}, target={self.target.name!r}, "
            f"look={self.look.label if self.look else None!r}, "
            f"config={self.config_info.uri!r})"
        )

    def apply(
        self, frame: NDArray[np.floating[Any]], *, on_strip: StripCallback | None = None
    ) -> NDArray[np.float32]:
        """Return a new float32 frame, colour-converted; alpha (channel 4) untouched.

        ``frame`` is float32 or float16 (decoded half samples are widened strip
        by strip in the workers, as they are converted). ``on_strip(first_row,
        rows)``, when given, is called once per finished band of rows of the
        result (together they cover the frame once), in the worker thread that
        made it: a caller can reduce the output (e.g. measure its light level)
        while it is still in cache. It must be thread-safe and must not modify
        ``rows``.
        """
        arr = self._checked(frame)
        out = np.empty(arr.shape, np.float32)
        self._evaluate(out, on_strip, source=arr)
        return out

    def _checked(self, frame: NDArray[np.floating[Any]]) -> NDArray[np.floating[Any]]:
        """``frame`` as an (H, W, 3|4) half or float32 array, or a ColorError."""
        arr = np.asarray(frame)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4):
            raise ColorError(
                f"{self.description}: expected an (H, W, 3|4) frame, got shape "
                f"{arr.shape}"
            )
        if arr.dtype not in (np.float32, np.float16):
            arr = arr.astype(np.float32)
        return arr

    __call__ = apply

    def apply_strips(
        self, frame: NDArray[np.floating[Any]], on_strip: StripCallback
    ) -> None:
        """Colour-convert ``frame`` band by band into ``on_strip`` only.

        As :meth:`apply` without its result: each band of rows is converted
        into a buffer of its own, handed to ``on_strip(first_row, rows)`` (in
        the worker that made it) and dropped, so no converted frame is ever
        held (a caller that turns the signal into something smaller, e.g. an
        encoder's Y'CbCr frame, as it goes). A frame the fast path checks
        against the exact one is converted whole and handed over as one band.
        """
        arr = self._checked(frame)
        state = self._color_path
        if state.needs_frame_check:
            out = np.empty(arr.shape, np.float32)
            self._evaluate(out, on_strip, source=arr)
            return
        self._evaluate_strips(None, state.active, on_strip, source=arr)

    def _evaluate(
        self,
        out: NDArray[np.float32],
        on_strip: StripCallback | None = None,
        *,
        source: NDArray[np.floating[Any]] | None = None,
    ) -> None:
        """Convert ``source`` (default: ``out`` itself) into ``out`` (C-contiguous
        float32 (H, W, 3|4)).

        The hook a baked fast path replaces for verified (config, target) pairs.
        """
        state = self._color_path
        if state.needs_frame_check:
            # The check may redo the frame on the exact path: report it once, done.
            state.check_frame(self._stage, out, self._evaluate_strips, source)
            if on_strip is not None:
                on_strip(0, out)
        else:
            self._evaluate_strips(out, state.active, on_strip, source=source)

    def _evaluate_strips(
        self,
        out: NDArray[np.float32] | None,
        fast: bool,
        on_strip: StripCallback | None = None,
        *,
        source: NDArray[np.floating[Any]] | None = None,
    ) -> None:
        """Convert ``source`` (default: ``out`` itself) into ``out`` strip by
        strip; with ``out`` None, each strip into a buffer of its own that only
        ``on_strip`` sees."""
        if out is not None:
            height, width, channels = out.shape
        elif source is not None:
            height, width, channels = source.shape
        else:
            raise ValueError("_evaluate_strips: nothing to convert")
        if height == 0 or width == 0:
            return
        strip_fn = self._apply_strip_rgb if channels == 3 else self._apply_strip_rgba

        def apply(first: int, rows: int) -> None:
            if out is None:
                strip = np.empty((rows, width, channels), np.float32)
            else:
                strip = out[first : first + rows]
            if source is not None:  # widen/copy here, just before OCIO reads it
                strip[...] = source[first : first + rows]
            strip_fn(strip, fast=fast)
            if on_strip is not None:
                on_strip(first, strip)

        n = min(self.threads, height)
        # Strips of ~128k pixels even on one thread: one applyRGB over a whole
        # 1080p frame is ~7x slower for cheap ops (matrices) than the same call
        # on cache-sized strips; a few strips per thread also balance uneven
        # per-pixel cost (speculars, gamut edge).
        rows = max(1, STRIP_PIXELS // width)
        n_strips = max(-(-height // rows), min(height, n * 4) if n > 1 else 1)
        bounds = np.linspace(0, height, n_strips + 1).astype(int)
        strips = [
            (int(a), int(b - a))
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
            if b > a
        ]
        call_each(lambda s: apply(*s), strips, n)

    def _apply_strip_rgb(self, strip: NDArray[np.float32], fast: bool = False) -> None:
        hybrid = self._color_path.fast if fast else None
        if hybrid is not None:
            hybrid.apply_rgb(strip)  # the final signal: its LUT includes the post-step
            return
        self._stage.cpu.applyRGB(strip)
        self._post(strip)

    def _apply_strip_rgba(self, strip: NDArray[np.float32], fast: bool = False) -> None:
        # Only RGB goes through OCIO, so alpha can never be rewritten. (The Python
        # PackedImageDesc binding rejects a 4-channel buffer described as 3 strided
        # channels, hence the per-strip copy.)
        rgb = np.ascontiguousarray(strip[..., :3])
        self._apply_strip_rgb(rgb, fast)
        strip[..., :3] = rgb
