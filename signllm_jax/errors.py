"""The CLI's user-facing error (its own module: the command handlers and the
quickstart both raise it, and neither imports the other)."""


class UserError(Exception):
  """A problem with the user's input: printed without a traceback."""
