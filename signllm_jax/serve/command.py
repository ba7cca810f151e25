"""`signllm serve`: start-up checks, then uvicorn (blocking)."""

import logging
import socket

from signllm_jax import errors

log = logging.getLogger(__name__)


def _setup_logging() -> None:
  # Before the heavy imports: one of them installs a WARNING-level root
  # handler, after which basicConfig would do nothing.
  logging.basicConfig(level=logging.INFO,
                      format="%(asctime)s %(levelname)s %(name)s: %(message)s")
  for noisy in ("absl", "jax._src", "orbax", "tensorflow_datasets"):
    logging.getLogger(noisy).setLevel(logging.WARNING)


def check_address(host: str, port: int) -> None:
  """UserError now, rather than after loading the model, if the address is
  taken or invalid (uvicorn binds it again a moment later)."""
  if not 0 < port < 65536:
    raise errors.UserError(f"--port must be 1..65535, got {port}")
  try:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    with socket.socket(infos[0][0], socket.SOCK_STREAM) as s:
      s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
      s.bind(infos[0][4])
  except OSError as e:
    raise errors.UserError(
        f"cannot listen on {host}:{port}: {e.strerror or e} (another server "
        "there? pass --port)") from None


def cmd_serve(args, overrides) -> int:
  """Loads the workdir (exit 2 with the reason if it cannot), serves."""
  check_address(args.host, args.port)
  _setup_logging()
  try:
    import uvicorn  # pylint: disable=g-import-not-at-top
    from signllm_jax.serve import app as app_lib  # needs fastapi
  except ImportError as e:
    if e.name not in ("uvicorn", "fastapi", "starlette", "pydantic"):
      raise
    raise errors.UserError(
        f"serve needs the [serve] extra ({e.name} is missing): "
        "pip install -e \".[serve]\"") from None
  from signllm_jax.serve import service as service_lib
  try:
    app = app_lib.create_app(args.workdir, overrides=overrides)
  except service_lib.ServeError as e:
    raise errors.UserError(str(e)) from None
  log.info("serving %s (%s) at http://%s:%d/", app.state.service.loaded.name,
           args.workdir, args.host, args.port)
  uvicorn.run(app, host=args.host, port=args.port, log_level="info")
  return 0
