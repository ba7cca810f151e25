"""Shared fixtures: smoke-trained workdirs, one service, one live server."""

import pytest

pytest.importorskip("fastapi", reason="the [serve] extra is not installed")
pytest.importorskip("uvicorn", reason="the [serve] extra is not installed")

# pylint: disable=g-import-not-at-top,wrong-import-position
from signllm_jax.serve import app as app_lib  # noqa: E402
from signllm_jax.serve import service as service_lib  # noqa: E402
from tests import trained  # noqa: E402
from tests.serve import server  # noqa: E402


@pytest.fixture(scope="session")
def mlsf_workdir(tmp_path_factory):
  return trained.trained_workdir(tmp_path_factory, "experiments/mlsf.py:smoke")


@pytest.fixture(scope="session")
def p2lg_workdir(tmp_path_factory):
  return trained.trained_workdir(tmp_path_factory,
                                 "experiments/prompt2langgloss.py:smoke")


@pytest.fixture(scope="session")
def mlsf_service(mlsf_workdir):
  service = service_lib.GenerationService(mlsf_workdir, progress=False)
  yield service
  service.close()


@pytest.fixture(scope="session")
def server_url(mlsf_service):
  with server.running(app_lib.create_app(service=mlsf_service)) as url:
    yield url


@pytest.fixture(scope="session")
def p2lg_service(p2lg_workdir):
  service = service_lib.GenerationService(p2lg_workdir, progress=False)
  yield service
  service.close()


@pytest.fixture(scope="session")
def p2lg_url(p2lg_service):
  with server.running(app_lib.create_app(service=p2lg_service)) as url:
    yield url
