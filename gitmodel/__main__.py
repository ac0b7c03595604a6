"""Entry point for `git-model`, `git model` and `python -m gitmodel`."""

from __future__ import annotations

import sys
from typing import NoReturn


def main() -> None:
    # Fast path: answer --version before importing the CLI framework (start-up budget 0.1 s).
    if sys.argv[1:] in (["--version"], ["-V"]):
        from gitmodel import __version__

        print(f"git-model {__version__}")
        sys.exit(0)
    if sys.argv[1:2] == ["hook"]:  # hooks skip the CLI framework: they must start fast
        from gitmodel.commands.hook import main_hook

        exit_soon(main_hook(sys.argv[2:]))
    from gitmodel.cli.fast import run_fast

    code = run_fast(sys.argv[1:])  # add, status, checkout: most runs need no CLI framework
    if code is None:
        from gitmodel.cli.app import run

        code = run()
    exit_soon(code)


def exit_soon(code: int) -> NoReturn:
    """Exit, sparing the interpreter's last garbage collections over every live object (the
    CLI framework's, a big folder's file list): 10-20 ms, more than some commands take.

    Frozen objects are skipped by those collections; modules and files are still torn down
    and closed as usual, and whatever the rest holds goes back to the OS with the process.
    """
    import gc

    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    main()
