"""A real uvicorn server on a free port, in a thread (for the serve tests)."""

import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import uvicorn


@contextlib.contextmanager
def running(app, timeout_s: float = 30.0):
  """Serves `app` on 127.0.0.1:<free port>; yields the base URL."""
  sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
  sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
  sock.bind(("127.0.0.1", 0))  # the port is ours from here: no race
  port = sock.getsockname()[1]
  server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
  thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                            daemon=True)
  thread.start()
  deadline = time.monotonic() + timeout_s
  while not server.started:
    if not thread.is_alive() or time.monotonic() > deadline:
      raise RuntimeError("uvicorn did not start")
    time.sleep(0.02)
  try:
    yield f"http://127.0.0.1:{port}"
  finally:
    server.should_exit = True
    thread.join(timeout_s)
    sock.close()


def request(url: str, body=None, *, raw: bytes | None = None,
            timeout_s: float = 60.0) -> tuple[int, dict | bytes, dict]:
  """(status, parsed JSON or bytes, headers) of a GET, or a POST of body."""
  data = raw if raw is not None else (
      None if body is None else json.dumps(body).encode("utf-8"))
  req = urllib.request.Request(
      url, data=data, headers={"Content-Type": "application/json"})
  try:
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:
      status, payload, headers = resp.status, resp.read(), dict(resp.headers)
  except urllib.error.HTTPError as e:
    status, payload, headers = e.code, e.read(), dict(e.headers)
  if headers.get("content-type", "").startswith("application/json"):
    return status, json.loads(payload), headers
  return status, payload, headers
