"""OCIO config resolution: which config a job uses, and the record of it.

Config resolution order: explicit argument > ``$OCIO`` >
hdrpipe's default config (``ocio_configs/config.ocio`` at the top of a checkout,
installed as the package data of ``hdrpipe.ocio_configs``) > OCIO's built-in
``ocio://studio-config-latest``. An explicit or ``$OCIO`` config that cannot be
read is an error (:class:`ConfigError`, exit 2), never a silent fallback.
"""

from __future__ import annotations

import importlib.resources
import logging
import os
import re
import stat
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import PyOpenColorIO as ocio  # noqa: N813

from ..errors import ConfigError, InputError

__all__ = [
    "BUILTIN_CONFIG",
    "PROJECT_CONFIG",
    "ConfigInfo",
    "ConfigSource",
    "resolve_config",
    "clear_config_cache",
    "colorspace_name",
    "one_line",
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


def one_line(err: BaseException) -> str:
    """An OCIO error message on one line."""
    return " ".join(str(err).split())


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
                    f"{uri}: cannot read OCIO config ({source}): {one_line(err)}"
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


def colorspace_name(
    name: str,
    config: str | os.PathLike[str] | None = None,
    *,
    what: str = "colour space",
) -> str:
    """The canonical name of colour space (or alias) ``name`` in the config.

    ``config`` as :func:`resolve_config`; ``what`` names the option in errors.

    Raises
    ------
    InputError
        The config has no such colour space (the message lists its scene spaces).
    """
    cfg, info = resolve_config(config)
    found = cfg.getColorSpace(name.strip())
    if found is None:
        raise InputError(
            f"{what} {name!r}: no such colour space in {info.uri}; scene spaces: "
            + ", ".join(scene_space_names(cfg))
        )
    return str(found.getName())


def scene_space_names(cfg: Any) -> list[str]:
    """The scene-referred colour spaces of ``cfg``, for an error message."""
    return [
        str(cs.getName())
        for cs in cfg.getColorSpaces()
        if cs.getReferenceSpaceType() == ocio.REFERENCE_SPACE_SCENE
    ]


def clear_config_cache() -> None:
    """Forget the loaded configs (tests; a config edited in place)."""
    with _config_lock:
        _config_cache.clear()
