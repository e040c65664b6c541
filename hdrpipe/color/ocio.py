"""OCIO config resolution, named targets, looks and the frame :class:`Transform`.

Config resolution order (docs/design-notes.md, "Colour"): explicit argument >
``$OCIO`` > hdrpipe's default config (``ocio_configs/config.ocio`` at the top of
a checkout, installed as the package data of ``hdrpipe.ocio_configs``) > OCIO's
built-in ``ocio://studio-config-latest``. An explicit or ``$OCIO`` config that
cannot be read is an error (:class:`ConfigError`, exit 2), never a silent fallback.

Display targets go through an OCIO ``DisplayViewTransform``: with ACES 2.0
configs a plain colorspace-to-display-colorspace conversion skips the output
transform's tone mapping (docs/design-notes.md, "Colour").
"""

from __future__ import annotations

import importlib.resources
import logging
import os
import re
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import PyOpenColorIO as ocio  # noqa: N813
from numpy.typing import NDArray

from ..errors import ColorError, ConfigError
from .looks import Look, look_transform, parse_look
from .tonemap import retarget_pq
from .transfer import eotf_inverse_bt2100_hlg, eotf_st2084

__all__ = [
    "BUILTIN_CONFIG",
    "PROJECT_CONFIG",
    "ConfigInfo",
    "Target",
    "Transform",
    "resolve_config",
    "targets",
    "get_target",
    "target_names",
    "source_colorspace",
    "clear_caches",
]

log = logging.getLogger(__name__)

BUILTIN_CONFIG = "ocio://studio-config-latest"


def _shipped_config() -> Path:
    """``config.ocio`` of the ``hdrpipe.ocio_configs`` package (wheel or checkout)."""
    try:
        folder = importlib.resources.files("hdrpipe.ocio_configs")
    except ModuleNotFoundError:  # a broken install: resolve_config falls back
        return Path(__file__).resolve().parent / "missing-ocio_configs" / "config.ocio"
    return Path(str(folder)).resolve() / "config.ocio"


#: The shipped config: ``ocio_configs/config.ocio`` in a checkout (an editable
#: install maps the package there), ``hdrpipe/ocio_configs/`` in an installed wheel.
PROJECT_CONFIG = _shipped_config()

ConfigSource = Literal["argument", "$OCIO", "project", "builtin"]
Transfer = Literal["pq", "hlg", "bt1886", "linear", "acescct"]
Primaries = Literal["rec2020", "p3d65", "rec709", "ap1", "ap0"]
#: ``on_strip(first_row, rows)`` of :meth:`Transform.apply`.
StripCallback = Callable[[int, NDArray[np.float32]], None]


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


# ------------------------------------------------------------------ configs


@dataclass(frozen=True, slots=True)
class ConfigInfo:
    """Which OCIO config a job used, as recorded in every job's output metadata.

    ``uri`` is an absolute path or an ``ocio://`` URI; ``name`` the config's
    ``name:``; ``version`` the version part of that name (e.g.
    ``v5.0.0_aces-v2.1_ocio-v2.6``) or ``ocio-profile-<major>.<minor>`` when the
    name carries none; ``source`` says why it was chosen.
    """

    uri: str
    name: str
    version: str
    source: ConfigSource
    profile_version: str = ""
    cache_id: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


_config_lock = threading.Lock()
_config_cache: dict[tuple[str, int, int], tuple[Any, str]] = {}


def _config_version(config: Any) -> tuple[str, str]:
    profile = f"{config.getMajorVersion()}.{config.getMinorVersion()}"
    match = re.search(r"(v\d+(?:\.\d+)*.*)$", config.getName() or "")
    return (match.group(1) if match else f"ocio-profile-{profile}"), profile


def _load_config(uri: str, source: ConfigSource) -> tuple[Any, ConfigInfo]:
    stamp = (0, 0)
    if not uri.startswith("ocio://"):
        path = Path(uri)
        if path.is_dir():
            path = path / "config.ocio"
        try:
            st = path.stat()
        except OSError as err:
            raise ConfigError(
                f"{path}: cannot read OCIO config ({source}): {err.strerror or err}"
            ) from err
        if not stat.S_ISREG(st.st_mode):  # OCIO would block on a FIFO
            raise ConfigError(
                f"{path}: cannot read OCIO config ({source}): not a regular file"
            )
        uri = str(path.resolve())
        stamp = (st.st_mtime_ns, st.st_size)
    key = (uri, *stamp)
    with _config_lock:
        hit = _config_cache.get(key)
        if hit is None:
            try:
                config = ocio.Config.CreateFromFile(uri)
                config.validate()
            except ocio.Exception as err:
                raise ConfigError(
                    f"{uri}: cannot read OCIO config ({source}): {_one_line(err)}"
                ) from err
            except UnicodeDecodeError as err:  # OCIO's message quotes the bytes
                raise ConfigError(
                    f"{uri}: cannot read OCIO config ({source}): not a text "
                    "(UTF-8 YAML) config file"
                ) from err
            hit = (config, config.getCacheID())
            _config_cache[key] = hit
    config, cache_id = hit
    version, profile = _config_version(config)
    info = ConfigInfo(
        uri=uri,
        name=config.getName() or Path(uri).stem,
        version=version,
        source=source,
        profile_version=profile,
        cache_id=cache_id,
    )
    return config, info


def resolve_config(
    config: str | os.PathLike[str] | None = None,
) -> tuple[Any, ConfigInfo]:
    """Return the OCIO config to use and where it came from.

    Order: ``config`` argument > ``$OCIO`` > the shipped ``config.ocio``
    > ``ocio://studio-config-latest``. A path may name a ``.ocio`` file, a
    directory holding ``config.ocio``, or an ``ocio://`` built-in URI.

    Raises
    ------
    ConfigError
        The chosen config is missing or unreadable (CLI exit 2).
    """
    if config is not None and str(config) != "":
        return _load_config(os.fspath(config), "argument")
    env = os.environ.get("OCIO", "")
    if env:
        return _load_config(env, "$OCIO")
    if PROJECT_CONFIG.is_file():
        return _load_config(str(PROJECT_CONFIG), "project")
    log.info(
        "hdrpipe default config %s not found; using %s", PROJECT_CONFIG, BUILTIN_CONFIG
    )
    return _load_config(BUILTIN_CONFIG, "builtin")


# ------------------------------------------------------------------ targets


@dataclass(frozen=True, slots=True)
class Target:
    """A named output: one OCIO display/view or one colorspace of the resolved config.

    ``primaries`` are the container primaries of the signal; ``limiting_primaries``
    the gamut the output transform limits to when smaller (``"p3d65"`` for a
    P3-limited master in a Rec.2020 container). ``peak_luminance`` in cd/m²
    (``None`` for scene-referred targets).
    """

    name: str
    kind: Literal["display", "colorspace"]
    display: str | None
    view: str | None
    colorspace: str | None
    transfer: Transfer
    primaries: Primaries
    limiting_primaries: str | None
    peak_luminance: float | None
    description: str
    #: Peak (cd/m²) of the PQ output transform a retargeted target starts from;
    #: its signal is then mapped to ``peak_luminance`` with the BT.2390 EETF.
    retarget_from: float | None = None

    @property
    def is_display(self) -> bool:
        return self.kind == "display"

    @property
    def ocio_name(self) -> str:
        """``"<display> / <view>"`` for display targets, else the colorspace name."""
        if self.kind == "display":
            return f"{self.display} / {self.view}"
        return str(self.colorspace)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Candidate:
    display: str | None = None
    view: str | None = None
    colorspace: str | None = None
    limiting_primaries: str | None = None


@dataclass(frozen=True, slots=True)
class _TargetSpec:
    name: str
    kind: Literal["display", "colorspace"]
    transfer: Transfer
    primaries: Primaries
    peak_luminance: float | None
    description: str
    candidates: tuple[_Candidate, ...]
    retarget_from: float | None = None


# In order of preference; the first candidate present in the config wins.
_TARGET_SPECS: tuple[_TargetSpec, ...] = (
    _TargetSpec(
        "hdr-pq-1000-rec2020",
        "display",
        "pq",
        "rec2020",
        1000.0,
        "ACES 2.0 HDR 1000 nits, Rec.2020 limited, Rec.2100 PQ (ST 2084)",
        (_Candidate("Rec.2100-PQ - Display", "ACES 2.0 - HDR 1000 nits (Rec.2020)"),),
    ),
    _TargetSpec(
        "hdr-pq-1000-p3d65",
        "display",
        "pq",
        "rec2020",
        1000.0,
        "ACES 2.0 HDR 1000 nits, P3-D65 limited in a Rec.2020 container, Rec.2100 PQ",
        (
            _Candidate(
                "Rec.2100-PQ - Display",
                "ACES 2.0 - HDR 1000 nits (P3 D65)",
                limiting_primaries="p3d65",
            ),
        ),
    ),
    # The 1000-nit master retargeted to a 600 cd/m² display (BT.2390 EETF on the
    # PQ signal, maxRGB: tonemap.retarget_pq), for deliveries to displays that
    # cannot reach 1000; the ACES 2.0 views of other peaks re-render the scene
    # instead. Its ST 2086 peak and MaxCLL are those of the retargeted signal.
    _TargetSpec(
        "hdr-pq-600-rec2020",
        "display",
        "pq",
        "rec2020",
        600.0,
        "ACES 2.0 HDR 1000 nits (Rec.2020) retargeted to a 600-nit display with "
        "the ITU-R BT.2390 EETF (maxRGB), Rec.2100 PQ",
        (_Candidate("Rec.2100-PQ - Display", "ACES 2.0 - HDR 1000 nits (Rec.2020)"),),
        retarget_from=1000.0,
    ),
    _TargetSpec(
        "hlg-1000",
        "display",
        "hlg",
        "rec2020",
        1000.0,
        "ACES 2.0 HDR 1000 nits, Rec.2100 HLG (ARIB STD-B67), 1000-nit display",
        (
            _Candidate("Rec.2100-HLG - Display", "ACES 2.0 - HDR 1000 nits (Rec.2020)"),
            # OCIO's built-in studio configs only offer the P3-limited HLG view.
            _Candidate(
                "Rec.2100-HLG - Display",
                "ACES 2.0 - HDR 1000 nits (P3 D65)",
                limiting_primaries="p3d65",
            ),
        ),
    ),
    _TargetSpec(
        "sdr-rec709",
        "display",
        "bt1886",
        "rec709",
        100.0,
        "ACES 2.0 SDR 100 nits, Rec.709, BT.1886 (gamma 2.4)",
        (
            _Candidate(
                "Rec.1886 Rec.709 - Display", "ACES 2.0 - SDR 100 nits (Rec.709)"
            ),
        ),
    ),
    _TargetSpec(
        "acescg",
        "colorspace",
        "linear",
        "ap1",
        None,
        "ACEScg: scene-linear AP1 (S-2014-004), for comp",
        (_Candidate(colorspace="ACEScg"), _Candidate(colorspace="ACES - ACEScg")),
    ),
    _TargetSpec(
        "acescct",
        "colorspace",
        "acescct",
        "ap1",
        None,
        "ACEScct: log AP1 (S-2016-001), for grading",
        (_Candidate(colorspace="ACEScct"), _Candidate(colorspace="ACES - ACEScct")),
    ),
    _TargetSpec(
        "aces2065-1",
        "colorspace",
        "linear",
        "ap0",
        None,
        "ACES2065-1: scene-linear AP0 (SMPTE ST 2065-1), the archival encoding",
        (
            _Candidate(colorspace="ACES2065-1"),
            _Candidate(colorspace="ACES - ACES2065-1"),
        ),
    ),
)
_SPECS_BY_NAME = {s.name: s for s in _TARGET_SPECS}


def target_names() -> tuple[str, ...]:
    """Return every target name hdrpipe knows, in listing order."""
    return tuple(_SPECS_BY_NAME)


def _resolve_spec(spec: _TargetSpec, config: Any) -> Target | None:
    for cand in spec.candidates:
        if spec.kind == "display":
            if cand.display in config.getDisplaysAll() and cand.view in config.getViews(
                cand.display
            ):
                return Target(
                    spec.name,
                    "display",
                    cand.display,
                    cand.view,
                    None,
                    spec.transfer,
                    spec.primaries,
                    cand.limiting_primaries,
                    spec.peak_luminance,
                    spec.description,
                    spec.retarget_from,
                )
        else:
            cs = config.getColorSpace(cand.colorspace)
            if cs is not None:
                return Target(
                    spec.name,
                    "colorspace",
                    None,
                    None,
                    cs.getName(),
                    spec.transfer,
                    spec.primaries,
                    None,
                    None,
                    spec.description,
                )
    return None


def targets(config: str | os.PathLike[str] | None = None) -> tuple[Target, ...]:
    """Return the named targets available in the resolved config, in listing order.

    A target whose display/view or colorspace the config lacks is left out (and
    logged at INFO); :func:`get_target` explains why it is unavailable.
    """
    cfg, info = resolve_config(config)
    found = []
    for spec in _TARGET_SPECS:
        target = _resolve_spec(spec, cfg)
        if target is None:
            log.info("target %s not available in config %s", spec.name, info.uri)
        else:
            found.append(target)
    return tuple(found)


def get_target(
    name: str | Target, config: str | os.PathLike[str] | None = None
) -> Target:
    """Return the target ``name`` resolved in ``config`` (default resolution order).

    Raises
    ------
    ColorError
        Unknown name (the message lists the available ones) or a target the
        config cannot provide.
    """
    cfg, info = resolve_config(config)
    return _get_target(name, cfg, info)


def _get_target(name: str | Target, cfg: Any, info: ConfigInfo) -> Target:
    if isinstance(name, Target):
        return name
    spec = _SPECS_BY_NAME.get(name.strip().lower())
    if spec is None:
        raise ColorError(
            f"unknown target {name!r}; available: {', '.join(target_names())}"
        )
    target = _resolve_spec(spec, cfg)
    if target is None:
        wanted = " or ".join(
            f"{c.display!r} / {c.view!r}" if c.display else repr(c.colorspace)
            for c in spec.candidates
        )
        raise ColorError(f"target {spec.name!r}: config {info.uri} has no {wanted}")
    return target


# ---------------------------------------------------------------- processors

_processor_lock = threading.Lock()
_processor_cache: OrderedDict[Hashable, Any] = OrderedDict()
_PROCESSOR_CACHE_SIZE = 32

_STRIP_PIXELS = 1 << 17  # pixels per row strip handed to one applyRGB call

_pool_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def clear_caches() -> None:
    """Forget cached configs and processors (tests; a config edited in place)."""
    with _processor_lock:
        _processor_cache.clear()
    with _config_lock:
        _config_cache.clear()


_POOL_THREAD_PREFIX = "hdrpipe-ocio"


def _pool(threads: int) -> ThreadPoolExecutor:
    with _pool_lock:
        pool = _pools.get(threads)
        if pool is None:
            pool = ThreadPoolExecutor(
                threads, thread_name_prefix=f"{_POOL_THREAD_PREFIX}{threads}"
            )
            _pools[threads] = pool
        return pool


def _in_pool_worker() -> bool:
    """True in a worker of a colour pool: it must not wait on a pool's tasks."""
    return threading.current_thread().name.startswith(_POOL_THREAD_PREFIX)


def _call_each(fn: Callable[[Any], object], items: list[Any], threads: int) -> None:
    """``fn(item)`` for every item: on the colour pool when ``threads`` > 1 (the
    calls must release the GIL to gain), serially in a pool worker (it must not
    wait on its own pool) or for a single item.
    """
    if threads > 1 and len(items) > 1 and not _in_pool_worker():
        for future in [_pool(threads).submit(fn, item) for item in items]:
            future.result()
        return
    for item in items:
        fn(item)


def _default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class _OcioEnd:
    """Where the OCIO part of a Transform ends: a display/view or a colorspace."""

    display: str | None = None
    view: str | None = None
    colorspace: str | None = None


_PQ_DISPLAY = "Rec.2100-PQ - Display"


def _ocio_end(config: Any, target: Target) -> tuple[_OcioEnd, bool]:
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
        return _OcioEnd(colorspace=target.colorspace), False
    if (
        target.transfer == "hlg"
        and _PQ_DISPLAY in config.getDisplaysAll()
        and target.view in config.getViews(_PQ_DISPLAY)
    ):
        return _OcioEnd(display=_PQ_DISPLAY, view=target.view), True
    return _OcioEnd(display=target.display, view=target.view), False


def _build_ocio_transform(
    config: Any, source: str, end: _OcioEnd, look: Look | None
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


def _pq_to_hlg_inplace(rgb: NDArray[np.float32], peak: float) -> None:
    # BT.2100-2: PQ signal -> display light (cd/m²) -> HLG signal for an L_W display.
    rgb[...] = eotf_inverse_bt2100_hlg(eotf_st2084(rgb), L_W=peak)


def source_colorspace(
    declared: str | None, override: str | None = None, *, assumed: str = "ACES2065-1"
) -> tuple[str, str | None]:
    """Pick a sequence's source colorspace; say when that is a guess or a conflict.

    ``declared`` is the ``chromaticities`` check's ``details.declared`` ("AP0",
    "AP1", "Rec.709", "Rec.2020", "P3-D65", "XYZ", "unknown" or ``None``);
    ``override`` an explicit OCIO colorspace. Returns ``(colorspace, warning)``;
    the warning (``None`` when all agree) must be reported as a validation
    warning, never dropped: a declared encoding that differs from the one used
    changes every pixel.
    """
    by_declared = {
        "AP0": "ACES2065-1",
        "AP1": "ACEScg",
        "Rec.709": "Linear Rec.709 (sRGB)",
        "Rec.2020": "Linear Rec.2020",
        "P3-D65": "Linear P3-D65",
        "XYZ": "CIE XYZ-D65 - Scene-referred",
    }
    if override:
        implied = by_declared.get(declared or "")
        if implied is not None and implied != override:
            return override, (
                f"file declares {declared} chromaticities ({implied}) but the source "
                f"colorspace is overridden to {override!r}"
            )
        return override, None
    if declared is None:
        return assumed, f"no chromaticities attribute: assuming {assumed}"
    if declared not in by_declared:
        return (
            assumed,
            f"chromaticities {declared!r} not recognised: assuming {assumed}",
        )
    return by_declared[declared], (
        None
        if by_declared[declared] == assumed
        else f"file declares {declared} chromaticities: using "
        f"{by_declared[declared]!r}, not {assumed!r}"
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
            names = [
                cs.getName()
                for cs in cfg.getColorSpaces()
                if cs.getReferenceSpaceType() == ocio.REFERENCE_SPACE_SCENE
            ]
            raise ColorError(
                f"unknown source colorspace {source!r} in {info.uri}; available: "
                + ", ".join(names)
            )
        self.source: str = src.getName()
        self.target: Target = _get_target(target, cfg, info)
        self.look: Look | None = None if look is None else parse_look(look, cfg)
        self.threads: int = max(1, int(threads)) if threads else _default_threads()
        look_text = f" + look {self.look.label}" if self.look else ""
        self.description: str = f"{self.target.ocio_name}{look_text}"
        self._end, self._hlg_from_pq = _ocio_end(cfg, self.target)
        key = (
            info.uri,
            info.cache_id,
            self.source,
            self._end,
            None if self.look is None else self.look.key,
        )
        self._processor = self._cached_processor(key)
        self._cpu = self._processor.getDefaultCPUProcessor()
        from .fastpath import _state  # late: fastpath builds on this module

        self._color_path = _state(self, color_path)

    def _cached_processor(self, key: Hashable) -> Any:
        with _processor_lock:
            proc = _processor_cache.get(key)
            if proc is not None:
                _processor_cache.move_to_end(key)
                return proc
        try:
            tf = _build_ocio_transform(self._config, self.source, self._end, self.look)
            proc = self._config.getProcessor(tf)
        except ocio.Exception as err:
            raise ColorError(
                f"{self.config_info.uri}: cannot build {self.source} -> "
                f"{self.target.name}"
                + (f" with look {self.look.label}" if self.look else "")
                + f": {_one_line(err)}"
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
        return self._processor

    @property
    def pipeline(self) -> str:
        """The exact evaluation path, for the manifest."""
        look = f" -> look {self.look.label}" if self.look else ""
        end = (
            f"{self._end.display} / {self._end.view}"
            if self._end.display
            else str(self._end.colorspace)
        )
        text = f"OCIO: {self.source}{look} -> {end}"
        if self._hlg_from_pq:
            peak = self.target.peak_luminance or 1000.0
            text += f" -> BT.2100-2 PQ to HLG ({peak:g} cd/m² display)"
        if self.target.retarget_from is not None:
            text += (
                f" -> BT.2390 EETF {self.target.retarget_from:g} to "
                f"{self.target.peak_luminance:g} cd/m² (maxRGB)"
            )
        return text

    def _post_step(self, rgb: NDArray[np.float32]) -> None:
        """The numpy steps after OCIO, in place: PQ → HLG, BT.2390 retargeting.

        Part of the final signal: the fast path bakes and verifies it too.
        """
        if self._hlg_from_pq:
            _pq_to_hlg_inplace(rgb, self.target.peak_luminance or 1000.0)
        if self.target.retarget_from is not None:
            rgb[...] = retarget_pq(
                rgb,
                source_peak=self.target.retarget_from,
                target_peak=self.target.peak_luminance or self.target.retarget_from,
            )

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
        arr = np.asarray(frame)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4):
            raise ColorError(
                f"{self.description}: expected an (H, W, 3|4) frame, got shape "
                f"{arr.shape}"
            )
        if arr.dtype not in (np.float32, np.float16):
            arr = arr.astype(np.float32)
        out = np.empty(arr.shape, np.float32)
        self._evaluate(out, on_strip, source=arr)
        return out

    __call__ = apply

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
            state.check_frame(self, out, self._evaluate_strips, source)
            if on_strip is not None:
                on_strip(0, out)
        else:
            self._evaluate_strips(out, state.active, on_strip, source=source)

    def _evaluate_strips(
        self,
        out: NDArray[np.float32],
        fast: bool,
        on_strip: StripCallback | None = None,
        *,
        source: NDArray[np.floating[Any]] | None = None,
    ) -> None:
        height, width, channels = out.shape
        if height == 0 or width == 0:
            return
        strip_fn = self._apply_strip_rgb if channels == 3 else self._apply_strip_rgba

        def apply(first: int, strip: NDArray[np.float32]) -> None:
            if source is not None:  # widen/copy here, just before OCIO reads it
                strip[...] = source[first : first + strip.shape[0]]
            strip_fn(strip, fast=fast)
            if on_strip is not None:
                on_strip(first, strip)

        n = min(self.threads, height)
        # Strips of ~128k pixels even on one thread: one applyRGB over a whole
        # 1080p frame is ~7x slower for cheap ops (matrices) than the same call
        # on cache-sized strips; a few strips per thread also balance uneven
        # per-pixel cost (speculars, gamut edge).
        rows = max(1, _STRIP_PIXELS // width)
        n_strips = max(-(-height // rows), min(height, n * 4) if n > 1 else 1)
        bounds = np.linspace(0, height, n_strips + 1).astype(int)
        strips = [
            (int(a), out[a:b])
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
            if b > a
        ]
        _call_each(lambda s: apply(*s), strips, n)

    def _apply_strip_rgb(self, strip: NDArray[np.float32], fast: bool = False) -> None:
        hybrid = self._color_path.fast if fast else None
        if hybrid is not None:
            hybrid.apply_rgb(strip)  # the final signal: its LUT includes the post-step
            return
        self._cpu.applyRGB(strip)
        self._post_step(strip)

    def _apply_strip_rgba(self, strip: NDArray[np.float32], fast: bool = False) -> None:
        # Only RGB goes through OCIO, so alpha can never be rewritten. (The Python
        # PackedImageDesc binding rejects a 4-channel buffer described as 3 strided
        # channels, hence the per-strip copy.)
        rgb = np.ascontiguousarray(strip[..., :3])
        self._apply_strip_rgb(rgb, fast)
        strip[..., :3] = rgb
