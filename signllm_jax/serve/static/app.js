// signllm serve: the page. Plain JavaScript, no libraries.
//
// GET /info builds the form (mode, languages, backends, limits, skeleton
// bones); POST /generate returns the poses of the chosen backend plus the
// other systems and, for a test-set sentence, the ground truth. Every
// panel plays on one clock (a shorter sequence holds its last frame), so
// the systems are compared at the same moment. The current frame is in
// #player's data-frame attribute (and each canvas's), for tests.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const COLOURS = {
    body: "rgb(70, 110, 170)",
    left: "rgb(235, 120, 30)",
    right: "rgb(40, 160, 70)",
  };
  const CANVAS_PX = 400;

  let info = null;
  const player = {
    panels: [],   // {label, frames, canvas}
    length: 0,    // frames on the shared clock (the longest panel)
    fps: 25,
    frame: -1,
    playing: true,
    speed: 1,
    angle: 0,     // degrees around the vertical axis; 90 = side view
    t0: null,     // clock origin (ms) and the frame shown at it
    startFrame: 0,
    view: null,   // shared centre and scale of every panel
  };
  window.signllmPlayer = player;

  function setState(state) { document.body.dataset.state = state; }

  function showMessage(text, kind) {
    const m = $("message");
    m.hidden = !text;
    m.textContent = text || "";
    m.className = kind || "";
  }

  async function getJSON(url, options) {
    let resp;
    try {
      resp = await fetch(url, options);
    } catch (e) {
      throw new Error(`the server did not answer (${e.message})`);
    }
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (!resp.ok) {
      throw new Error(body && body.error ? body.error
                                         : `HTTP ${resp.status}`);
    }
    return body;
  }

  // ---------------------------------------------------------------- form

  function renderExamples() {
    const box = $("examples");
    box.textContent = "";
    const lang = $("lang").value;
    const langs = lang ? [lang] : Object.keys(info.examples || {});
    const texts = [];
    for (const l of langs) {
      for (const t of (info.examples[l] || []).slice(0, lang ? 3 : 1)) {
        texts.push([l, t]);
      }
    }
    if (!texts.length) return;
    const label = document.createElement("span");
    label.className = "muted";
    label.textContent = "Test-set examples:";
    box.append(label);
    for (const [l, t] of texts) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = t;
      b.title = `${l}: fill the box with this test-split ${info.input}`;
      b.addEventListener("click", () => {
        $("source").value = t;
        if (info.lang_required || $("lang").value) $("lang").value = l;
      });
      box.append(b);
    }
  }

  async function init() {
    setState("loading");
    try {
      info = await getJSON("/info");
    } catch (e) {
      showMessage(`Could not load /info: ${e.message}`);
      setState("error");
      return;
    }
    const p2lg = info.mode === "p2lg";
    $("model-name").textContent =
        `${info.model} · ${p2lg ? "Prompt2LangGloss" : "MLSF"}`;
    $("source-label").textContent = p2lg
        ? "Prompt (a question asking how to sign a sentence)" : "Text";
    $("source").placeholder = p2lg
        ? "How would I sign 'The mother eats the bread.'?"
        : "Type a sentence in the spoken language of the sign language…";
    const lang = $("lang");
    if (!info.lang_required) {
      lang.add(new Option("auto (from the decoded LangGloss)", ""));
    }
    for (const l of info.langs) {
      lang.add(new Option(`${l.code}: ${l.name} (${l.spoken})`, l.code));
    }
    for (const b of info.backends) $("backend").add(new Option(b, b));
    $("limit").textContent =
        `at most ${info.limits.max_tokens} tokens (end-of-sentence included)`;
    const notes = $("notes");
    for (const n of info.notes) {
      const li = document.createElement("li");
      li.textContent = n;
      notes.append(li);
    }
    lang.addEventListener("change", renderExamples);
    renderExamples();
    $("generate").disabled = false;
    setState("ready");
  }

  async function generate(event) {
    event.preventDefault();
    const body = {
      [info.input]: $("source").value,
      lang: $("lang").value || null,
      backend: $("backend").value || "model",
    };
    $("generate").disabled = true;
    setState("generating");
    showMessage("Generating…", "info");
    try {
      const res = await getJSON("/generate", {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify(body),
      });
      showMessage("");
      showResult(res);
      setState("done");
    } catch (e) {
      showMessage(e.message);
      setState("error");
    } finally {
      $("generate").disabled = false;
    }
  }

  // ------------------------------------------------------------- result

  function link(href, text, id) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    a.setAttribute("download", "");
    if (id) a.id = id;
    return a;
  }

  function makePanel(p, isMain) {
    const div = document.createElement("div");
    div.className = isMain ? "panel main" : "panel";
    div.dataset.system = p.name;
    const h = document.createElement("h2");
    h.textContent = p.label;
    const canvas = document.createElement("canvas");
    canvas.width = CANVAS_PX;
    canvas.height = CANVAS_PX;
    canvas.dataset.frame = "0";
    canvas.dataset.length = String(p.length);
    canvas.setAttribute("aria-label", `${p.label}: animated skeleton`);
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = `${p.length} frames · ${p.note}`;
    const dl = document.createElement("div");
    dl.className = "downloads";
    dl.append("Download: ");
    for (const [fmt, href] of Object.entries(p.downloads || {})) {
      dl.append(link(href, `.${fmt}`, isMain ? `download-${fmt}` : null));
    }
    div.append(h, canvas, note, dl);
    $("panels").append(div);
    return {label: p.label, frames: p.frames, canvas};
  }

  function computeView(panels) {
    // One centre and scale for every panel and every rotation: the
    // bounding box's middle, and the largest distance from it (a radius in
    // x-z, since rotation mixes them; the half-height in y).
    let lo = [Infinity, Infinity, Infinity];
    let hi = [-Infinity, -Infinity, -Infinity];
    for (const p of panels) {
      for (const frame of p.frames) {
        for (const j of frame) {
          if (j === null || j[0] === null) continue;
          for (let k = 0; k < 3; k++) {
            lo[k] = Math.min(lo[k], j[k]);
            hi[k] = Math.max(hi[k], j[k]);
          }
        }
      }
    }
    if (!isFinite(lo[0])) { lo = [0, 0, 0]; hi = [1, 1, 1]; }
    const c = [0, 1, 2].map((k) => (lo[k] + hi[k]) / 2);
    let r = 1e-6;
    for (const p of panels) {
      for (const frame of p.frames) {
        for (const j of frame) {
          if (j === null || j[0] === null) continue;
          r = Math.max(r, Math.hypot(j[0] - c[0], j[2] - c[2]),
                       Math.abs(j[1] - c[1]));
        }
      }
    }
    return {c, scale: (CANVAS_PX * 0.45) / r};
  }

  function draw(panel, frame) {
    const ctx = panel.canvas.getContext("2d");
    const n = panel.frames.length;
    const f = Math.min(frame, n - 1);
    panel.canvas.dataset.frame = String(f);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, CANVAS_PX, CANVAS_PX);
    if (n === 0) return;
    const joints = panel.frames[f];
    const {c, scale} = player.view;
    const a = (player.angle * Math.PI) / 180;
    const cos = Math.cos(a);
    const sin = Math.sin(a);
    const xy = joints.map((j) => (j === null || j[0] === null) ? null : [
      CANVAS_PX / 2 + ((j[0] - c[0]) * cos + (j[2] - c[2]) * sin) * scale,
      CANVAS_PX / 2 + (j[1] - c[1]) * scale,
    ]);
    const groups = info.skeleton.groups;
    ctx.lineCap = "round";
    for (const [p, q] of info.skeleton.bones) {
      if (!xy[p] || !xy[q]) continue;
      ctx.strokeStyle = COLOURS[groups[q]];
      ctx.lineWidth = groups[q] === "body" ? 4 : 2;
      ctx.beginPath();
      ctx.moveTo(xy[p][0], xy[p][1]);
      ctx.lineTo(xy[q][0], xy[q][1]);
      ctx.stroke();
    }
    for (let j = 0; j < xy.length; j++) {
      if (!xy[j]) continue;
      ctx.fillStyle = COLOURS[groups[j]];
      ctx.beginPath();
      ctx.arc(xy[j][0], xy[j][1], groups[j] === "body" ? 3.5 : 2, 0,
              2 * Math.PI);
      ctx.fill();
    }
    ctx.fillStyle = "#677285";
    ctx.font = "13px sans-serif";
    const ended = frame >= n ? " (ended)" : "";
    ctx.fillText(`frame ${f + 1} / ${n}${ended}`, 8, CANVAS_PX - 10);
  }

  function setFrame(frame, force) {
    if (frame === player.frame && !force) return;
    player.frame = frame;
    for (const p of player.panels) draw(p, frame);
    $("scrub").value = String(frame);
    $("frame-label").textContent = `${frame + 1} / ${player.length}`;
    $("player").dataset.frame = String(frame);
  }

  function setPlaying(playing) {
    player.playing = playing;
    player.t0 = null;
    $("play").textContent = playing ? "Pause" : "Play";
    $("player").dataset.playing = String(playing);
  }

  function showResult(res) {
    const main = {name: res.name, label: res.label, frames: res.frames,
                  length: res.length, note: res.note,
                  downloads: res.downloads};
    const shown = [main, ...res.others];
    if (res.ground_truth) shown.push(res.ground_truth);
    $("panels").textContent = "";
    player.panels = shown.map((p, i) => makePanel(p, i === 0));
    const skipped = $("skipped");
    skipped.textContent = "";
    for (const s of res.skipped || []) {
      const li = document.createElement("li");
      li.dataset.system = s.name;
      li.textContent = `${s.label}: nothing for this input: ${s.reason}`;
      skipped.append(li);
    }
    player.view = computeView(player.panels);
    player.fps = res.fps;
    player.length = Math.max(...shown.map((p) => p.length));
    $("scrub").max = String(Math.max(0, player.length - 1));
    $("player").dataset.length = String(player.length);
    const gloss = res.lang_gloss;
    $("lang-gloss-row").hidden = gloss === null || gloss === undefined;
    $("lang-gloss").textContent = gloss || "";
    const t = res.timing;
    $("summary").textContent =
        `${res.lang || "no language tag"} · ${res.length} frames at ` +
        `${res.fps} fps (${t.mode} timing) · model ${t.generate_s} s, ` +
        `request ${t.total_s} s` + (res.truncated ? " · truncated" : "") +
        (res.ground_truth ? "" :
         " · not a test-split sentence: no ground truth shown");
    $("result").hidden = false;
    setFrame(0, true);
    setPlaying(true);
  }

  // -------------------------------------------------------------- clock

  function tick(now) {
    if (player.playing && player.length > 0) {
      if (player.t0 === null) {
        player.t0 = now;
        player.startFrame = Math.max(0, player.frame);
      }
      const steps = Math.floor(((now - player.t0) / 1000) * player.fps *
                               player.speed);
      setFrame((player.startFrame + steps) % player.length, false);
    }
    requestAnimationFrame(tick);
  }

  function redraw() { if (player.view) setFrame(player.frame, true); }

  function setAngle(deg) {
    player.angle = deg;
    $("rotate").value = String(deg);
    redraw();
  }

  $("form").addEventListener("submit", generate);
  $("source").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) generate(e);
  });
  $("play").addEventListener("click", () => setPlaying(!player.playing));
  $("scrub").addEventListener("input", (e) => {
    setFrame(Number(e.target.value), true);
    player.t0 = null;  // playing resumes from the scrubbed frame
  });
  $("speed").addEventListener("change", (e) => {
    player.speed = Number(e.target.value);
    player.t0 = null;
  });
  $("rotate").addEventListener("input",
                               (e) => setAngle(Number(e.target.value)));
  $("front").addEventListener("click", () => setAngle(0));
  $("side").addEventListener("click", () => setAngle(90));
  requestAnimationFrame(tick);
  init();
})();
