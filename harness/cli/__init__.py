"""The ``harness`` command line: thin. Each command parses options, builds settings, calls the library.

One module per command or command group, registered explicitly below; shared options live
in :mod:`.options`; heavy imports stay inside the commands so ``harness --help`` is fast.
Library errors (:class:`harness.errors.HarnessError`) and bad options become one line on
stderr and a non-zero exit; ``--debug`` (or HARNESS_DEBUG=1) shows the traceback instead.
"""

from __future__ import annotations

import os
import sys

import click

from ..errors import HarnessError
from . import (
    compare,
    highenergy,
    init,
    jobs,
    kappa,
    listing,
    md,
    neb,
    phonons,
    preflight,
    runs,
    screen,
    sigma,
    singlepoint,
    softening,
    static,
    train,
    versus,
)

COMMAND_MODULES = (md, runs, listing, init, kappa, phonons, sigma, softening, singlepoint, highenergy, compare,
                   neb, static, train, versus, preflight, screen, jobs)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="show tracebacks")
@click.version_option(package_name="harness")
def cli(debug):
    """Run machine-learned interatomic potentials inside LAMMPS, analyse and compare."""


for _module in COMMAND_MODULES:
    for _command in _module.COMMANDS:
        if _command.name in cli.commands:
            raise ValueError(f"command {_command.name!r} registered twice")
        cli.add_command(_command)


def _usage_line(exc: click.UsageError) -> str:
    """A bad option as one line: '--engine: unknown engine 'warp' (valid: ...)'."""
    if isinstance(exc, click.BadParameter) and exc.param is not None:
        name = exc.param.opts[0] if getattr(exc.param, "opts", None) else exc.param.name
        return f"{name}: {exc.message}"
    msg = exc.format_message()
    cmd = exc.ctx.command_path if exc.ctx is not None else "harness"
    return f"{msg} (see `{cmd} --help`)"


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("HARNESS_DEBUG") == "1"
    # Libraries log lines a user cannot act on (MDAnalysis' netCDF4 notice, MACE's dtype
    # conversion): each known one is filtered by name (harness._quiet); --debug shows all.
    from .._env import set_thread_defaults
    from .._quiet import install_logging

    set_thread_defaults()  # before numpy, LAMMPS, torch or phonopy start their thread pools
    install_logging(debug)
    try:
        cli.main(args=argv, prog_name="harness", standalone_mode=False)
    except HarnessError as exc:
        if debug:
            raise
        click.echo(f"harness: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        click.echo(f"harness: error: {_usage_line(exc)}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:
        # click turns an EOFError raised anywhere below into Abort: a file that ended early
        # (a truncated archive or pickle) is an input error, not the user pressing Ctrl-D
        cause = exc.__cause__
        if isinstance(cause, EOFError) and not debug:
            click.echo(f"harness: error: a file ended before its end ({_first_line(cause) or 'EOFError'})", err=True)
            sys.exit(2)
        if isinstance(cause, KeyboardInterrupt):
            click.echo("harness: interrupted (outputs kept; resume with --resume)", err=True)
            sys.exit(130)
        click.echo("harness: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("harness: interrupted (outputs kept; resume with --resume)", err=True)
        sys.exit(130)
    except OSError as exc:  # a path the user gave: missing, not writable, not a folder, disk full
        if debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"harness: error: {where}{exc.strerror or _first_line(exc)}", err=True)
        sys.exit(2)
    except Exception as exc:  # a bug: one line here, the traceback with --debug
        if debug:
            raise
        click.echo(f"harness: error: internal error ({type(exc).__name__}: {_first_line(exc)}); this is a bug in "
                   f"harness: run the command again with --debug and report the traceback", err=True)
        sys.exit(1)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""


__all__ = ["cli", "main"]
