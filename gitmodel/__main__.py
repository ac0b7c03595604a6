"""Entry point for `git-model`, `git model` and `python -m gitmodel`."""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import NoReturn

from gitmodel.errors import Terminated


def main() -> None:
    # Fast path: answer --version before importing the CLI framework (start-up budget 0.1 s).
    if sys.argv[1:] in (["--version"], ["-V"]):
        from gitmodel import __version__

        print(f"git-model {__version__}")
        sys.exit(0)
    signal.signal(signal.SIGTERM, terminate)
    try:
        code = dispatch(sys.argv[1:])
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM outside a command's error funnel
        from gitmodel.errorfunnel import report_failure

        code = report_failure(exc)
    exit_soon(code)


def dispatch(argv: list[str]) -> int:
    if argv[:1] == ["hook"]:  # hooks skip the CLI framework: they must start fast
        from gitmodel.commands.hook import main_hook

        return main_hook(argv[1:])
    from gitmodel.cli.fast import run_fast

    code = run_fast(argv)  # add, status, checkout: most runs need no CLI framework
    if code is None:
        from gitmodel.cli.app import run

        code = run()
    return code


def terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (sent by `timeout`, CI runners, service managers) ends a command as Ctrl-C does:
    through the error funnel (one line, exit 143) and the clean-up on the way out (a push
    aborts its uploads). A second one is ignored, so that it cannot cut that clean-up short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated


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
