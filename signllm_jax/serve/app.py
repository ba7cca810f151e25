"""The FastAPI app: a small JSON API and one static page (module: serve/).

`create_app(workdir)` builds a GenerationService (loads and warms the model
once) and returns the app; `create_app(service=...)` wraps one already
built (tests share one service between apps). FastAPI's /docs and /redoc
pages load Swagger/ReDoc from a CDN, so both are off: /docs serves the
API description (static/api.md) instead, and /openapi.json the schema.

Errors: a RequestError becomes its HTTP status with {"error": message};
a malformed body (not JSON, a field of the wrong type, an unknown field)
is 422 with {"error": ...} naming the field; an unknown path is 404
with {"error": ...}; anything unexpected is 500
with {"error": "internal error: ..."} and the traceback goes to the log
only.
"""

import contextlib
import logging
import pathlib

import fastapi
import pydantic
from fastapi import responses
from fastapi import staticfiles
from starlette import exceptions as starlette_exceptions

from signllm_jax.serve import service as service_lib

log = logging.getLogger(__name__)

STATIC = pathlib.Path(__file__).parent / "static"
_MEDIA = {"pose": "application/octet-stream", "skels": "text/plain",
          "mp4": "video/mp4"}


class GenerateBody(pydantic.BaseModel):
  """POST /generate: "text" (MLSF) or "prompt" (Prompt2LangGloss)."""
  model_config = pydantic.ConfigDict(extra="forbid")
  text: str | None = None
  prompt: str | None = None
  lang: str | None = None
  backend: str | None = None


def _error(status: int, message: str) -> responses.JSONResponse:
  return responses.JSONResponse({"error": message}, status_code=status)


def _validation_message(exc) -> str:
  parts = []
  for err in exc.errors():
    if err.get("type") == "json_invalid":
      return "bad request body: not valid JSON"
    where = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
    parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
  return "bad request body: " + "; ".join(parts)


def create_app(workdir=None, *, service=None, overrides=(),
               progress: bool = True, **service_kw) -> fastapi.FastAPI:
  """The app serving `workdir` (or an existing GenerationService)."""
  owned = service is None
  if owned:
    if workdir is None:
      raise ValueError("create_app needs a workdir or a service")
    service = service_lib.GenerationService(workdir, overrides=overrides,
                                            progress=progress, **service_kw)

  @contextlib.asynccontextmanager
  async def lifespan(_):
    yield
    if owned:  # a service passed in is closed by its owner
      service.close()

  app = fastapi.FastAPI(title="signllm serve", docs_url=None,
                        redoc_url=None, lifespan=lifespan)
  app.state.service = service

  @app.exception_handler(service_lib.RequestError)
  async def _request_error(request, exc):
    del request
    return _error(exc.status, str(exc))

  @app.exception_handler(starlette_exceptions.HTTPException)
  async def _http_error(request, exc):  # unknown paths, wrong methods
    return _error(exc.status_code, f"{exc.detail}: {request.method} "
                                   f"{request.url.path}")

  @app.exception_handler(fastapi.exceptions.RequestValidationError)
  async def _validation_error(request, exc):
    del request
    return _error(422, _validation_message(exc))

  @app.exception_handler(Exception)
  async def _internal_error(request, exc):
    log.exception("%s %s failed", request.method, request.url.path)
    return _error(500, f"internal error: {type(exc).__name__}: {exc}")

  @app.get("/", include_in_schema=False)
  def index():
    return responses.FileResponse(STATIC / "index.html")

  @app.get("/docs", include_in_schema=False)
  def docs():
    return responses.PlainTextResponse(
        (STATIC / "api.md").read_text(encoding="utf-8"),
        media_type="text/markdown; charset=utf-8")

  @app.get("/info")
  def info():
    """Mode, languages, limits, baselines, skeleton layout."""
    return service.info()

  # Plain `def` endpoints run in FastAPI's thread pool; the service's lock
  # serialises the model calls between those threads.
  @app.post("/generate")
  def generate(body: GenerateBody):
    """Poses for one text or prompt (module docstring of serve/)."""
    # A JSONResponse skips FastAPI's jsonable_encoder, which walks every
    # float of the [T][50][3] lists (most of a request's time otherwise).
    return responses.JSONResponse(service.generate(body.model_dump()))

  @app.get("/download/{filename}")
  def download(filename: str, system: str = "model"):
    """{id}.pose | {id}.skels | {id}.mp4 of one result."""
    path = service.download(filename, system)
    fmt = path.suffix.lstrip(".")
    return responses.FileResponse(
        path, media_type=_MEDIA[fmt],
        filename=f"signllm_{filename.partition('.')[0]}_{system}.{fmt}")

  app.mount("/static", staticfiles.StaticFiles(directory=STATIC),
            name="static")
  return app
