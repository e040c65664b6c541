"""Bake a Transform's exact colour stage into a verified LUT; the on-disk cache.

Cache: bakes are stored as ``<key>.npz`` in ``$HDRPIPE_CACHE`` or
``~/.cache/hdrpipe/luts`` (written atomically); the key hashes the config's
cache id/name/version, source, OCIO end point, look identity, OCIO version, LUT
size, the domains tried and :data:`BAKE_FORMAT`.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import PyOpenColorIO as ocio  # noqa: N813
from numpy.typing import NDArray

from ...errors import ColorError, OutputError
from ...outputs import atomic_write
from ..pool import call_each
from ..stage import HasExactStage, as_stage
from .accuracy import (
    BUDGET_MAX_DELTA_E_ITP,
    BUDGET_P999_CODE10,
    BakeErrors,
    StressSet,
    signal_errors,
    stress_set,
)
from .domains import ChromaDomain, Domain, Shaper, _domain_from_dict
from .evaluate import (
    FastPath,
    _ap1_colorspace,
    _apply_cpu,
    _exact_signal,
    _Processors,
    _served_mask,
    measure_errors,
)

if TYPE_CHECKING:
    from ..stage import ExactStage

log = logging.getLogger(__name__)

__all__ = [
    "CACHE_ENV",
    "DEFAULT_LUT_SIZE",
    "SATURATION_THRESHOLDS",
    "CHROMA_FLOORS",
    "BAKE_FORMAT",
    "Bake",
    "cache_dir",
    "bake",
    "clear_memory_cache",
    "verify",
]

#: Environment variable naming the bake cache directory.
CACHE_ENV = "HDRPIPE_CACHE"


#: 129³ (OCIO's largest Lut3D): the exact ACES 2.0 stage has kinks (its
#: hue-sampled gamut tables), so LUT error falls only ~linearly with the grid
#: step; measured here 65³ failed the stress budget (p99.9 1.38 code values),
#: 97³ passed at 0.91, 129³ at 0.75 — at the same evaluation speed.
DEFAULT_LUT_SIZE = 129


#: Candidate AP1-saturation thresholds, tried from the most permissive down.
SATURATION_THRESHOLDS = (
    0.99,
    0.98,
    0.97,
    0.96,
    0.95,
    0.94,
    0.93,
    0.92,
    0.9,
    0.88,
    0.85,
    0.8,
)


#: Bump when the bake layout or the routing rule changes (invalidates the cache).
BAKE_FORMAT = 3


@dataclass(frozen=True, slots=True)
class Bake:
    """A baked LUT and its verification.

    ``lut`` is (N, N, N, 3) float32 indexed ``[i, j, k]`` over the ``domain``'s
    coordinates (first axis slowest, as OCIO ``Lut3DTransform.setData``
    expects). ``threshold`` / ``ceiling`` are the hybrid routing parameters (AP1
    saturation, AP1 max; the domain may route more). ``errors`` is the
    stress-set verification at that threshold; ``accepted`` whether it met the
    budget; ``reason`` why not; ``attempts`` every domain tried, in order.
    """

    key: str
    identity: dict[str, Any] = field(compare=False)
    size: int
    domain: Domain
    threshold: float
    ceiling: float
    errors: BakeErrors
    accepted: bool
    reason: str | None
    lut: NDArray[np.float32] = field(repr=False, compare=False)
    cache_file: str | None = field(default=None, compare=False)
    attempts: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    @property
    def shaper(self) -> Shaper:
        """The domain of an ``rgb-log`` bake (ColorError for another kind)."""
        if not isinstance(self.domain, Shaper):
            raise ColorError(f"bake {self.key[:12]} is a {self.domain.kind} bake")
        return self.domain

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly record (without the LUT data)."""
        return {
            "key": self.key,
            "identity": self.identity,
            "lut_size": self.size,
            "domain": self.domain.to_dict(),
            "threshold": self.threshold,
            "ceiling": self.ceiling,
            "stress_errors": self.errors.to_dict(),
            "accepted": self.accepted,
            "reason": self.reason,
            "attempts": list(self.attempts),
            "cache_file": self.cache_file,
        }


def cache_dir() -> Path:
    """The bake cache directory: ``$HDRPIPE_CACHE`` or ``~/.cache/hdrpipe/luts``."""
    env = os.environ.get(CACHE_ENV, "")
    return Path(env) if env else Path.home() / ".cache" / "hdrpipe" / "luts"


def _identity(
    stage: ExactStage, size: int, domains: tuple[Domain, ...]
) -> dict[str, Any]:
    info = stage.config_info
    end = stage.end
    return {
        "format": BAKE_FORMAT,
        "config": {
            "cache_id": info.cache_id,
            "name": info.name,
            "version": info.version,
        },
        "source": stage.source,
        "target": {
            "name": stage.target.name,
            "display": end.display,
            "view": end.view,
            "colorspace": end.colorspace,
        },
        "look": None if stage.look is None else repr(stage.look.key),
        "ocio_version": ocio.__version__,
        "lut_size": size,
        "domains": [d.to_dict() for d in domains],
    }


def _key(identity: dict[str, Any]) -> str:
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


#: A node whose exact value differs from the median of its six neighbours by more
#: than this (signal units) is re-sampled next to its position (see _bake_lut).
HOLE_JUMP = 0.2


def _exact_at(
    transform: HasExactStage, from_ap1: Any, ap1: NDArray[np.floating[Any]]
) -> NDArray[np.float32]:
    """The Transform's exact final signal (numpy post-step included) at AP1 points."""
    stage = as_stage(transform)
    grid = np.ascontiguousarray(ap1, dtype=np.float32).reshape(-1, 3)
    _apply_cpu(from_ap1, grid, stage.threads)
    _exact_signal(stage, grid, stage.threads)
    return grid


def _bake_lut(
    transform: HasExactStage, size: int, domain: Domain, from_ap1: Any
) -> tuple[NDArray[np.float32], int]:
    """Sample the exact processor at the domain's nodes; return (LUT, nodes re-sampled).

    OCIO 2.6's ACES 2.0 output stage has isolated singular points (e.g. the
    SDR view returns black for a bright green around AP1 (69.3, 194.4, 32.0),
    and white 1e-4 away from it). A node that lands on one would spoil all
    eight cells around it, so a node that jumps away from its neighbours is
    re-sampled 2⁻¹⁰ / 2⁻⁸ away (in brightness) and keeps whichever value is
    closest to the neighbours' median.
    """
    stage = as_stage(transform)
    nodes = domain.nodes(size)
    lut = _exact_at(stage, from_ap1, nodes).reshape(size, size, size, 3)
    median = _neighbour_median(lut, stage.threads)
    holes = np.abs(lut - median).max(axis=-1) > HOLE_JUMP
    if not holes.any():
        return lut, 0
    where = nodes.reshape(size, size, size, 3)[holes]
    target = median[holes]
    best = lut[holes]
    gap = np.abs(best - target).max(axis=-1)
    for factor in (1 + 2.0**-10, 1 - 2.0**-10, 1 + 2.0**-8, 1 - 2.0**-8):
        moved = _exact_at(stage, from_ap1, where * factor)
        d = np.abs(moved - target).max(axis=-1)
        better = d < gap
        best[better], gap[better] = moved[better], d[better]
    changed = np.abs(best - lut[holes]).max(axis=-1) > HOLE_JUMP / 2
    lut[holes] = best
    return lut, int(changed.sum())


def _neighbour_median(
    lut: NDArray[np.float32], threads: int = 1
) -> NDArray[np.float32]:
    """Per node and channel, the median of its six face neighbours (edges clamped).

    Computed one slab of the first axis at a time: the whole stack of
    neighbours of a 129³ LUT would take 150 MB on top of the job. Slabs are
    spread over the colour pool when ``threads`` > 1 (numpy's partition
    releases the GIL).
    """
    size = lut.shape[0]
    out = np.empty_like(lut)

    def slab(i: int) -> None:
        plane = np.pad(lut[i], ((1, 1), (1, 1), (0, 0)), mode="edge")
        around = np.stack(
            [
                lut[min(i + 1, size - 1)],
                lut[max(i - 1, 0)],
                plane[2:, 1:-1],
                plane[:-2, 1:-1],
                plane[1:-1, 2:],
                plane[1:-1, :-2],
            ]
        )
        out[i] = np.median(around, axis=0)

    call_each(slab, list(range(size)), threads)
    return out


def _calibrate(
    stage: ExactStage, procs: _Processors, stress: StressSet
) -> tuple[float, BakeErrors, bool]:
    """Pick the largest saturation threshold whose served samples meet the budget.

    Thresholds above what the domain represents (``1 − floor``) serve the
    same pixels as ``1 − floor``: they are skipped.
    """
    src = stress.ap1.reshape(-1, 1, 3).copy()
    _apply_cpu(procs.from_ap1, src, stage.threads)
    exact = src.copy()
    _exact_signal(stage, exact, stage.threads)
    lut_only = stress.ap1.reshape(-1, 1, 3).copy()
    procs.apply_lut(lut_only)
    ap1 = src.copy()
    # The AP1 the evaluator will see (round trip included).
    _apply_cpu(procs.to_ap1, ap1, stage.threads)
    top = 1.0 - procs.domain.floor
    candidates = [t for t in SATURATION_THRESHOLDS if t <= top] or [top]
    if top < SATURATION_THRESHOLDS[0] and top not in candidates:
        candidates.insert(0, top)
    last: BakeErrors | None = None
    for threshold in candidates:
        served = _served_mask(ap1, threshold, procs.domain.maximum, procs.domain)
        # Routed pixels are the exact result by construction: compare served ones.
        errors = signal_errors(exact, lut_only, stage.target, served, stress.groups)
        last = errors
        if errors.within_budget:
            return threshold, errors, True
    assert last is not None
    return candidates[-1], last, False


#: AP1 min/max floors of the chroma-domain bakes tried after the rgb-log one
#: (first accepted wins): a higher floor resolves chroma more finely and routes
#: more saturated pixels to the exact processor.
CHROMA_FLOORS = (0.1, 0.2, 0.3)


def _domains(size: int) -> tuple[Domain, ...]:
    """The LUT domains a bake tries, in order: rgb-log, then chroma by floor."""
    return (Shaper(), *(ChromaDomain(floor=f, size=size) for f in CHROMA_FLOORS))


def bake(
    transform: HasExactStage,
    *,
    size: int = DEFAULT_LUT_SIZE,
    domains: tuple[Domain, ...] | None = None,
    stress: StressSet | None = None,
    use_cache: bool = True,
) -> Bake:
    """Bake ``transform``'s OCIO stage into a verified LUT (or load it from the cache).

    Each of ``domains`` (default: the per-channel log :class:`Shaper`, then
    :class:`ChromaDomain` at each of :data:`CHROMA_FLOORS`) is baked in turn
    until one meets the budget on the stress set (default :func:`stress_set`),
    which also calibrates its routing threshold; ``accepted`` says whether one
    did (else the bake holds the first domain's result), ``attempts`` records
    each try. The cache (:func:`cache_dir`) is read and written unless
    ``use_cache`` is off.

    Raises
    ------
    ColorError
        A scene-referred target (nothing to bake: its exact path is already a
        matrix/log) or a config without ACEScg.
    """
    stage = as_stage(transform)
    if not stage.target.is_display:
        raise ColorError(
            f"{stage.description}: scene-referred target, no fast path needed"
        )
    if not 2 <= size <= 129:
        raise ColorError(f"LUT size {size}: OCIO Lut3D supports 2…129")
    tried = _domains(size) if domains is None else tuple(domains)
    identity = _identity(stage, size, tried)
    key = _key(identity)
    with _bakes_lock:
        hit = _bakes.get(key)
    if hit is not None and use_cache:
        return hit
    path = cache_dir() / f"{key[:40]}.npz"
    result = _load(path, key, identity) if use_cache else None
    if result is None:
        result = _bake_new(stage, size, tried, stress, key, identity)
        if use_cache:
            result = _store(path, result)
    if use_cache:
        with _bakes_lock:
            _bakes[key] = result
    return result


def _bake_new(
    stage: ExactStage,
    size: int,
    domains: tuple[Domain, ...],
    stress: StressSet | None,
    key: str,
    identity: dict[str, Any],
) -> Bake:
    config = stage.config
    ap1 = _ap1_colorspace(config)
    from_ap1 = config.getProcessor(
        ocio.ColorSpaceTransform(src=ap1, dst=stage.source)
    ).getDefaultCPUProcessor()
    stress = stress if stress is not None else stress_set()
    identity = dict(identity, stress={"samples": len(stress), "seed": stress.seed})
    attempts: list[dict[str, Any]] = []
    chosen: Bake | None = None
    for domain in domains:
        lut, holes = _bake_lut(stage, size, domain, from_ap1)
        procs = _Processors(stage, lut, domain)
        threshold, errors, accepted = _calibrate(stage, procs, stress)
        attempts.append(
            {
                "domain": domain.to_dict(),
                "threshold": threshold,
                "p999_code10": round(errors.p999_code10, 4),
                "max_code10": round(errors.max_code10, 4),
                "max_delta_e_itp": round(errors.max_delta_e_itp, 4),
                "served": round(errors.served, 4),
                "accepted": accepted,
                "resampled_nodes": holes,
            }
        )
        log.info(
            "baked %d³ %s LUT for %s: threshold %.2f, stress p99.9 %.3f max %.2f "
            "code values, max ΔE_ITP %.3f, %d node(s) re-sampled%s",
            size,
            domain.kind,
            stage.description,
            threshold,
            errors.p999_code10,
            errors.max_code10,
            errors.max_delta_e_itp,
            holes,
            "" if accepted else " — rejected",
        )
        if chosen is None or accepted:
            reason = None
            if not accepted:
                reason = (
                    f"{size}³ bake over budget on the stress set in every LUT domain "
                    f"tried ({', '.join(d.kind for d in domains)}); {domain.kind} "
                    f"at AP1 saturation threshold {threshold}: p99.9 "
                    f"{errors.p999_code10:.2f} code values (budget "
                    f"{BUDGET_P999_CODE10:g}), max ΔE_ITP "
                    f"{errors.max_delta_e_itp:.2f} (budget {BUDGET_MAX_DELTA_E_ITP:g})"
                )
            chosen = Bake(
                key=key,
                identity=identity,
                size=size,
                domain=domain,
                threshold=threshold,
                ceiling=domain.maximum,
                errors=errors,
                accepted=accepted,
                reason=reason,
                lut=lut,
            )
        if accepted:
            break
    assert chosen is not None
    return replace(chosen, attempts=tuple(attempts))


_bakes_lock = threading.Lock()


_bakes: dict[str, Bake] = {}


def clear_memory_cache() -> None:
    """Forget the bakes held in memory (the on-disk cache stays)."""
    with _bakes_lock:
        _bakes.clear()


def _meta(result: Bake) -> dict[str, Any]:
    return {
        "key": result.key,
        "identity": result.identity,
        "threshold": result.threshold,
        "ceiling": result.ceiling,
        "errors": asdict(result.errors),
        "accepted": result.accepted,
        "reason": result.reason,
        "domain": result.domain.to_dict(),
        "attempts": list(result.attempts),
    }


def _store(path: Path, result: Bake) -> Bake:
    """Write the bake atomically (temp file in the same directory, then rename)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, lut=result.lut, meta=np.array(json.dumps(_meta(result))))
        atomic_write(path, buf.getvalue())
    except (OSError, OutputError) as err:
        log.info("%s: cannot cache the bake (%s); continuing without", path, err)
        return result
    log.debug("cached bake %s", path)
    return _with_file(result, path)


def _with_file(result: Bake, path: Path) -> Bake:
    return replace(result, cache_file=str(path))


def _load(path: Path, key: str, identity: dict[str, Any]) -> Bake | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            lut = np.ascontiguousarray(data["lut"], np.float32)
            meta = json.loads(str(data["meta"]))
        size = identity["lut_size"]
        if meta["key"] != key or lut.shape != (size, size, size, 3):
            log.info("%s: cached bake does not match its key; re-baking", path)
            return None
        errors = BakeErrors(**meta["errors"])
        domain = _domain_from_dict(meta["domain"], size)
        attempts = tuple(meta.get("attempts", ()))
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.info("%s: unreadable cached bake (%s); re-baking", path, err)
        return None
    log.debug("loaded cached bake %s", path)
    return Bake(
        key=key,
        identity=meta["identity"],
        size=size,
        domain=domain,
        threshold=float(meta["threshold"]),
        ceiling=float(meta["ceiling"]),
        errors=errors,
        accepted=bool(meta["accepted"]),
        reason=meta["reason"],
        lut=lut,
        cache_file=str(path),
        attempts=attempts,
    )


def verify(
    transform: HasExactStage,
    frames: Iterable[NDArray[np.float32]],
    *,
    size: int = DEFAULT_LUT_SIZE,
) -> BakeErrors:
    """Measure the hybrid path of ``transform``'s bake against exact on ``frames``."""
    fast = FastPath(transform, bake(transform, size=size))
    return measure_errors(transform, fast, frames)
