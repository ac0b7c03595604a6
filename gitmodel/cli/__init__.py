"""The command line: parse, call one function of the Python API, print, choose an exit code.

Nothing is imported here, so that the fast path (fast.py) runs without the CLI framework.
app.py holds the typer app and the options several commands share, and is the only module
importing typer besides the command modules core, registry, diff and remote; common.py holds
the error handling and output helpers; coreops.py runs add, status and checkout for both.
"""
