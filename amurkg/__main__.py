"""Entry point of the ``amurkg`` command and of ``python -m amurkg``."""

from __future__ import annotations

import gc
import os


def main() -> None:
    """Run the command line.

    Importing Typer and amurkg creates many objects that live as long as the process; the cyclic
    garbage collector would scan them several times during start-up and find nothing to free (about
    10 ms per run, measured by bench/bench_query.py). So collection is paused while they are imported,
    they are then moved out of its way with ``gc.freeze()``, and collection resumes for the command.
    """
    gc.disable()
    try:
        from amurkg.cli import app
        from amurkg.limits import enable_supervision
    except KeyboardInterrupt:  # Ctrl-C while starting: nothing was done yet; one line, no traceback
        import sys

        sys.stderr.write("amurkg: interrupted while starting; nothing was done\n")
        raise SystemExit(130) from None
    finally:
        gc.freeze()
        gc.enable()
        _keep_exit_code()
    enable_supervision()
    if os.environ.get("_AMURKG_COMPLETE", "").endswith("_bash"):  # the shell asks for completions
        from amurkg.completion import escape_for_bash

        escape_for_bash()
    try:
        app(prog_name="amurkg")
    except KeyboardInterrupt:  # one that came before a command took charge (Typer building the command line)
        import sys

        sys.stderr.write("amurkg: interrupted while starting; nothing was done\n")
        raise SystemExit(130) from None
    finally:
        _keep_exit_code()


def _keep_exit_code() -> None:
    """Make the exit code the command chose the process's, under ``python -m amurkg`` too.

    CPython marks a KeyboardInterrupt that ended the evaluation of a string (``exec`` or ``eval`` of text: every
    dataclass and namedtuple made while a module is imported) and, for ``python -m``, ends the process by SIGINT
    at exit whenever that mark is set, even where the interrupt was handled: a Ctrl-C, or a SIGTERM that
    ``import`` turns into one, landing while a module was imported lazily ended the process by SIGINT instead of
    exit 130. Each evaluation of a string clears the mark first, so evaluating an empty one, once the command
    has handled its interrupt, clears it for good."""
    exec("")


if __name__ == "__main__":
    main()
