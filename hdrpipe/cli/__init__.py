"""``hdrpipe`` command line: a thin layer over the public API.

Each stage registers its commands in its own module (``cli/validate.py``,
``cli/color.py``, ``cli/encode.py``, ``cli/conform.py``, ``cli/handoff.py``,
``cli/report.py``);
``main`` maps :class:`~hdrpipe.errors.HdrpipeError` to exit codes
(0 done, 1 ran and failed, 2 usage error or input not found) and signals to
128 + N (130 SIGINT, 143 SIGTERM, 129 SIGHUP), after the job cleaned up.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import traceback
from collections.abc import Sequence

import typer

try:  # typer >= 0.26 vendors click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # pragma: no cover - older typer on click
    from click.exceptions import (  # type: ignore[assignment]
        ClickException,
        NoArgsIsHelpError,
    )

from ..errors import HdrpipeError
from ._app import app, state
from ._signals import Terminated, terminate_on

__all__ = ["main", "run", "app"]

log = logging.getLogger("hdrpipe.cli")

# Command modules, in pipeline order. A module that is not there yet is skipped.
_COMMAND_MODULES = (
    "validate",
    "color",
    "encode",
    "conform",
    "handoff",
    "farm",
    "report",
)


def _load_commands() -> None:
    for name in _COMMAND_MODULES:
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script exits with it)."""
    from ..memory import tune_allocator

    tune_allocator()  # before any thread: frame buffers go back to the system
    _load_commands()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        with terminate_on():
            result = app(args=args, prog_name="hdrpipe", standalone_mode=False)
    except Terminated as err:
        print(f"hdrpipe: terminated ({err})", file=sys.stderr)
        return err.exit_code
    except typer.Exit as err:
        return int(err.exit_code)
    except typer.Abort:
        print("hdrpipe: interrupted", file=sys.stderr)
        return 130
    except NoArgsIsHelpError as err:
        err.show(file=sys.stderr)
        return 0
    except ClickException as err:
        err.show(file=sys.stderr)
        return 2
    except HdrpipeError as err:
        if state.debug:
            traceback.print_exc(file=sys.stderr)
        print(f"hdrpipe: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("hdrpipe: interrupted", file=sys.stderr)
        return 130
    except (
        Exception
    ) as err:  # the edge: a bug or an unwrapped library error, never a traceback
        if state.debug:
            traceback.print_exc(file=sys.stderr)
        print(
            f"hdrpipe: internal error: {type(err).__name__}: {err} "
            "(run with --debug for a traceback)",
            file=sys.stderr,
        )
        return 1
    return result if isinstance(result, int) else 0


#: Exit codes of a run stopped by Ctrl-C, SIGTERM or SIGHUP (128 + signal).
INTERRUPTED = (130, 143, 129)


def run() -> None:
    """Entry of ``hdrpipe`` and ``python -m hdrpipe``: exit with main()'s code.

    After Ctrl-C, SIGTERM or SIGHUP the job has unwound and cleaned up, but
    native worker threads (encoders, decoders, OCIO) may still be running;
    letting the interpreter finalise then can abort in C++ static destructors
    ("terminate called without an active exception", SIGABRT instead of the
    documented exit code). Such a run ends with ``os._exit`` once stdout and
    stderr are flushed; nothing is left to clean up by then.
    """
    code = main()
    if code in INTERRUPTED and threading.active_count() > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
