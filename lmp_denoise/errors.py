"""The one exception type users see: every error lmp-denoise raises for bad input is a
``DenoiseError`` whose message is one line that says what to fix (the command line prints it and
exits with status 2). The subclasses say which input was wrong."""


class DenoiseError(Exception):
    """Bad input to lmp-denoise; the message says what to fix."""
