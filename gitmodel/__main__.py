"""Entry point for `git-model`, `git model` and `python -m gitmodel`."""

from __future__ import annotations

import sys


def main() -> None:
    # Fast path: answer --version before importing the CLI framework (start-up budget 0.1 s).
    if sys.argv[1:] in (["--version"], ["-V"]):
        from gitmodel import __version__

        print(f"git-model {__version__}")
        sys.exit(0)
    if sys.argv[1:2] == ["hook"]:  # hooks skip the CLI framework: they must start fast
        from gitmodel.commands.hook import main_hook

        sys.exit(main_hook(sys.argv[2:]))
    from gitmodel.cli import run

    sys.exit(run())


if __name__ == "__main__":
    main()
