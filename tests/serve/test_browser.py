"""The page in headless Chromium (Playwright driving a system browser).

Playwright's own browser download is never used: the test finds a local
Chromium (SIGNLLM_CHROMIUM, else chromium / chromium-browser /
google-chrome on PATH; .ci/run installs Debian's `chromium`) and skips
with the reason when there is none. SIGNLLM_SERVE_SCREENSHOT=path copies
the screenshot there.
"""

import json
import os
import pathlib
import shutil

import numpy as np
import pytest

from signllm_jax import skeleton

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright (the [test] extra) is missing")

TEXT_ASL = "Often the mother eats the bread."  # test split, ASL


def find_chromium() -> str | None:
  """A local Chromium binary, or None."""
  if os.environ.get("SIGNLLM_CHROMIUM"):
    return os.environ["SIGNLLM_CHROMIUM"]
  for name in ("chromium", "chromium-browser", "google-chrome"):
    path = shutil.which(name)
    # Ubuntu's chromium-browser is a wrapper that installs a snap.
    if path and "snap" not in os.path.realpath(path):
      return path
  return None


CHROMIUM = find_chromium()
# A mark, not a skip in the fixture: it is decided before the session
# fixtures (training the workdirs) run.
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no local Chromium (install Debian's `chromium` "
    "package or set SIGNLLM_CHROMIUM); .ci/run installs it")


@pytest.fixture(scope="module")
def browser():
  with sync_api.sync_playwright() as p:
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses.
    b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                          args=["--no-sandbox"])
    yield b
    b.close()


def _open(browser, url):
  context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                accept_downloads=True)
  page = context.new_page()
  page.set_default_timeout(30_000)
  page.errors, page.urls = [], []
  page.on("pageerror", lambda e: page.errors.append(str(e)))
  page.on("console", lambda m: m.type == "error" and page.errors.append(
      m.text))
  page.on("request", lambda r: page.urls.append(r.url))
  page.goto(url)
  page.wait_for_selector("body[data-state=ready]")
  return context, page


@pytest.fixture
def page(browser, server_url):
  context, page = _open(browser, server_url)
  yield page
  context.close()


def _frame(page, selector: str) -> int:
  return int(page.get_attribute(selector, "data-frame"))


def _inked_pixels(page, system: str) -> int:
  """Non-white pixels of a panel's canvas (the skeleton was drawn)."""
  return page.evaluate("""(system) => {
      const c = document.querySelector(
          `.panel[data-system="${system}"] canvas`);
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height);
      let n = 0;
      for (let i = 0; i < d.data.length; i += 4) {
        if (d.data[i] < 200 || d.data[i + 1] < 200) n++;
      }
      return n;
    }""", system)


def test_generate_play_scrub_rotate_download(page, server_url, tmp_path):
  page.select_option("#lang", "ASL")
  page.fill("#source", TEXT_ASL)
  with page.expect_response("**/generate") as resp:
    page.click("#generate")
  res = json.loads(resp.value.body())
  page.wait_for_selector("body[data-state=done]")
  systems = page.eval_on_selector_all(".panel", "ps => ps.map("
                                      "p => p.dataset.system)")
  assert systems == ["model", "retrieval", "ground_truth"]
  # The lexicon knows no word of this sentence: it says so.
  assert "Lexicon" in page.text_content("#skipped li[data-system=lexicon]")
  n = max(res["lengths"].values())
  assert page.get_attribute("#player", "data-length") == str(n)

  # The clock advances every panel; a shorter one holds its last frame.
  start = _frame(page, "#player")
  page.wait_for_function(
      f"() => Number(document.getElementById('player').dataset.frame) "
      f"!= {start}")
  page.wait_for_function(
      "() => Number(document.getElementById('player').dataset.frame) >= 5")
  for system in systems:
    assert _inked_pixels(page, system) > 200, system

  page.click("#play")  # pause
  assert page.get_attribute("#player", "data-playing") == "false"
  paused = _frame(page, "#player")
  page.wait_for_timeout(300)
  assert _frame(page, "#player") == paused
  page.fill("#scrub", "10")
  assert _frame(page, "#player") == 10
  model_canvas = ".panel[data-system=model] canvas"
  assert _frame(page, model_canvas) == min(10, res["lengths"]["model"] - 1)
  assert _frame(page, ".panel[data-system=ground_truth] canvas") == 10

  gt_canvas = ".panel[data-system=ground_truth] canvas"
  front = page.eval_on_selector(gt_canvas, "c => c.toDataURL()")
  page.click("#side")
  assert page.input_value("#rotate") == "90"
  assert page.eval_on_selector(gt_canvas, "c => c.toDataURL()") != front
  page.click("#front")
  assert page.eval_on_selector(gt_canvas, "c => c.toDataURL()") == front
  page.select_option("#speed", "2")
  page.click("#play")  # resume at double speed
  assert page.evaluate("() => window.signllmPlayer.speed") == 2

  shot = tmp_path / "serve.png"
  page.screenshot(path=str(shot), full_page=True)
  assert shot.stat().st_size > 10_000
  if os.environ.get("SIGNLLM_SERVE_SCREENSHOT"):
    shutil.copy(shot, os.environ["SIGNLLM_SERVE_SCREENSHOT"])

  with page.expect_download() as download:
    page.click("#download-pose")
  path = tmp_path / "model.pose"
  download.value.save_as(path)
  from pose_format import Pose  # pylint: disable=g-import-not-at-top
  pose = Pose.read(path.read_bytes())
  data_TxPxJx3 = np.asarray(pose.body.data)
  assert data_TxPxJx3.shape == (res["length"], 1, skeleton.NUM_JOINTS, 3)
  assert pose.body.fps == res["fps"]
  np.testing.assert_allclose(data_TxPxJx3[:, 0], np.array(res["frames"]),
                             atol=1e-3)

  assert not page.errors
  assert all(u.startswith(server_url) for u in page.urls), page.urls


@pytest.mark.parametrize("text, message", [
    ("   ", "empty text"),
    ("bread " * 40, "at most 24"),
])
def test_bad_input_shows_a_message(page, text, message):
  page.fill("#source", text)
  page.click("#generate")
  page.wait_for_selector("body[data-state=error]")
  shown = page.text_content("#message")
  assert message in shown and "Traceback" not in shown
  assert page.is_visible("#message") and page.is_hidden("#result")
  assert not page.errors or all("400" in e or "413" in e
                                for e in page.errors)


def test_p2lg_page_shows_the_lang_gloss(browser, p2lg_url):
  context, page = _open(browser, p2lg_url)
  try:
    assert "Prompt" in page.text_content("#source-label")
    assert page.input_value("#lang") == ""  # auto: from the LangGloss
    page.click("#examples button")  # a test-split prompt
    assert page.input_value("#source") == page.text_content(
        "#examples button")
    with page.expect_response("**/generate") as resp:
      page.click("#generate")
    res = json.loads(resp.value.body())
    page.wait_for_selector("body[data-state=done]")
    assert page.is_visible("#lang-gloss-row")
    assert page.text_content("#lang-gloss") == res["lang_gloss"]
    assert page.get_attribute(".panel:last-child", "data-system") == (
        "ground_truth")
    assert not page.errors
  finally:
    context.close()
