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


if __name__ == "__main__":
    main()
