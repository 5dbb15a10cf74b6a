// voiceguide's phone page: one <audio> element playing the full-routine track (it keeps
// playing with the screen locked), its chapters and timed lyrics, lock-screen controls
// through the Media Session API, downloads, and the settings form.
"use strict";

const $ = (id) => document.getElementById(id);
const audio = $("audio");
let state = null;        // what /api/state said last
let shown = -1;          // the generation the player plays
let chapterIndex = -1;
let lyricIndex = -2;
let polling = null;

function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
}

function spoken(seconds) {
  const s = Math.round(seconds), m = Math.floor(s / 60), r = s % 60;
  return (m ? m + (m === 1 ? " minute" : " minutes") : "") + (m && r ? " " : "") +
    (r || !m ? r + (r === 1 ? " second" : " seconds") : "");
}

// the last entry of a sorted list whose start_s is at or before t (-1: none)
function indexAt(list, t) {
  let lo = 0, hi = list.length - 1, found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].start_s <= t + 0.001) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
  }
  return found;
}

async function getState() {
  const response = await fetch("api/state", { cache: "no-store" });
  if (!response.ok) throw new Error("the server answered " + response.status);
  return response.json();
}

// ------------------------------------------------------------------ the player

function absolute(url) { return new URL(url, document.baseURI).href; }

function showExport(next) {
  const wasPlaying = !audio.paused;
  const oldTitle = state && chapterIndex >= 0 ? state.chapters[chapterIndex].title : null;
  state = next;
  shown = next.generation;
  $("title").textContent = next.title;
  document.title = next.title + " - voiceguide";
  $("total").textContent = clock(next.duration_s) + " in all · " + next.chapters.length + " chapters";
  if (next.cover) { $("cover").src = next.cover; $("cover").hidden = false; }
  $("seek").max = String(Math.floor(next.duration_s));
  $("remaining").textContent = "-" + clock(next.duration_s);
  $("command").textContent = next.command;
  renderChapters();
  renderDownloads();
  renderForm();
  chapterIndex = -1;
  lyricIndex = -2;
  const resumeAt = oldTitle ? next.chapters.findIndex((c) => c.title === oldTitle) : -1;
  audio.src = next.audio;
  audio.load();
  if (resumeAt > 0) {
    audio.addEventListener("loadedmetadata", () => { audio.currentTime = next.chapters[resumeAt].start_s; },
      { once: true });
  }
  if (wasPlaying) audio.play().catch(() => {});
  update();
}

function renderChapters() {
  const list = $("chapters");
  list.replaceChildren();
  let parent = null;
  state.chapters.forEach((chapter, i) => {
    const item = document.createElement("li");
    const side = parent !== null && chapter.title.startsWith(parent + " - ");
    if (side) item.className = "side"; else parent = chapter.title;
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.index = String(i);
    const name = document.createElement("span");
    name.textContent = chapter.title;
    const at = document.createElement("span");
    at.className = "at";
    at.textContent = clock(chapter.start_s);
    button.append(name, at);
    button.setAttribute("aria-label", chapter.title + ", at " + spoken(chapter.start_s));
    button.addEventListener("click", () => seekChapter(i, true));
    item.append(button);
    list.append(item);
  });
}

function renderDownloads() {
  const list = $("downloads");
  list.replaceChildren();
  for (const file of state.downloads) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = file.url + (file.url.includes("?") ? "&" : "?") + "download=1";
    link.setAttribute("download", file.name);
    const name = document.createElement("span");
    name.textContent = file.name.endsWith(".zip") ? "Everything (zip): " + file.name : file.name;
    const size = document.createElement("span");
    size.className = "size";
    size.textContent = file.bytes === null ? "" : file.bytes >= 1e6
      ? (file.bytes / 1e6).toFixed(1) + " MB" : Math.max(1, Math.round(file.bytes / 1e3)) + " kB";
    link.append(name, size);
    item.append(link);
    list.append(item);
  }
}

function seekChapter(i, play) {
  if (!state || !state.chapters.length) return;
  const index = Math.max(0, Math.min(state.chapters.length - 1, i));
  audio.currentTime = state.chapters[index].start_s;
  if (play) audio.play().catch(() => {});
  update();
}

function previousChapter() {
  const t = audio.currentTime, i = indexAt(state.chapters, t);
  // like the terminal's "b": back to this chapter's start; near its start, the one before
  if (i > 0 && t - state.chapters[i].start_s < 2.5) seekChapter(i - 1, false);
  else seekChapter(Math.max(i, 0), false);
}

function nextChapter() {
  const i = indexAt(state.chapters, audio.currentTime);
  if (i + 1 < state.chapters.length) seekChapter(i + 1, false);
}

function togglePlay() {
  if (audio.paused) audio.play().catch(() => {}); else audio.pause();
}

function update() {
  if (!state) return;
  const t = audio.currentTime || 0;
  const c = indexAt(state.chapters, t);
  if (c !== chapterIndex) {
    chapterIndex = c;
    const title = c >= 0 ? state.chapters[c].title : state.title;
    $("chapter").textContent = title;
    for (const button of $("chapters").querySelectorAll("button")) {
      if (Number(button.dataset.index) === c) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
    setMetadata(title);
  }
  const l = indexAt(state.lyrics, t);
  if (l !== lyricIndex) {
    lyricIndex = l;
    $("instruction").textContent = l >= 0 ? state.lyrics[l].text : "";
  }
  $("elapsed").textContent = clock(t);
  $("remaining").textContent = "-" + clock((state.duration_s || 0) - t);
  if (document.activeElement !== $("seek")) $("seek").value = String(Math.floor(t));
  $("seek").setAttribute("aria-valuetext", clock(t) + " of " + clock(state.duration_s));
  const playing = !audio.paused;
  $("play").classList.toggle("playing", playing);
  $("play").setAttribute("aria-label", playing ? "Pause" : "Play");
}

// ------------------------------------------------------------------ lock-screen controls

function setMetadata(title) {
  if (!("mediaSession" in navigator) || typeof MediaMetadata === "undefined") return;
  const artwork = state.cover ? [{ src: absolute(state.cover), sizes: "600x600", type: "image/png" }] : [];
  navigator.mediaSession.metadata = new MediaMetadata({
    title: title, artist: state.title, album: state.album, artwork: artwork,
  });
}

function setPosition() {
  if (!("mediaSession" in navigator) || !navigator.mediaSession.setPositionState) return;
  if (!isFinite(audio.duration) || audio.duration <= 0) return;
  try {
    navigator.mediaSession.setPositionState({
      duration: audio.duration, playbackRate: audio.playbackRate,
      position: Math.min(audio.currentTime, audio.duration),
    });
  } catch (e) { /* a position the browser refuses: skip this one */ }
}

function mediaSessionHandlers() {
  if (!("mediaSession" in navigator)) return;
  const handlers = {
    play: () => audio.play(),
    pause: () => audio.pause(),
    previoustrack: previousChapter,
    nexttrack: nextChapter,
    seekto: (details) => { audio.currentTime = details.seekTime; update(); },
    seekbackward: (details) => { audio.currentTime = Math.max(0, audio.currentTime - (details.seekOffset || 10)); },
    seekforward: (details) => { audio.currentTime = audio.currentTime + (details.seekOffset || 10); },
  };
  for (const [action, handler] of Object.entries(handlers)) {
    try { navigator.mediaSession.setActionHandler(action, handler); } catch (e) { /* unsupported */ }
  }
}

// ------------------------------------------------------------------ the settings form

const LABELS = { hold: "Hold (seconds)", rounds: "Rounds", reps: "Reps per set", sets: "Sets",
  rest: "Rest (seconds)", voice: "Voice (espeak-ng id)", rate: "Speaking rate (words per minute)",
  verbosity: "How much is said", breath: "Breathing tones (in-out seconds, or off)",
  fit: "Fit into (e.g. 15m, or off)" };

function field(name, label, value, choices) {
  const box = document.createElement("div");
  box.className = "field";
  const id = "f-" + name.replace(/[^a-z0-9-]/gi, "_");
  const caption = document.createElement("label");
  caption.htmlFor = id;
  caption.textContent = label;
  let input;
  if (choices) {
    input = document.createElement("select");
    for (const choice of choices) {
      const option = document.createElement("option");
      option.value = option.textContent = choice;
      input.append(option);
    }
  } else {
    input = document.createElement("input");
    input.type = "text";
    input.autocomplete = "off";
    input.spellcheck = false;
    if (/^(hold|rounds|reps|sets|rest|rate):?/.test(name)) input.inputMode = "decimal";
  }
  input.id = id;
  input.name = name;
  input.value = value;
  const error = document.createElement("p");
  error.className = "error";
  error.id = id + "-error";
  error.hidden = true;
  input.setAttribute("aria-describedby", error.id);
  box.append(caption, input, error);
  return box;
}

function renderForm() {
  const fields = $("fields");
  fields.replaceChildren();
  const form = state.form;
  for (const exercise of form.exercises) {
    const set = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = exercise.title;
    set.append(legend);
    for (const f of exercise.fields) set.append(field(f.name, LABELS[f.option], f.value));
    fields.append(set);
  }
  const general = document.createElement("fieldset");
  const legend = document.createElement("legend");
  legend.textContent = "Voice and timing";
  general.append(legend);
  general.append(field("verbosity", LABELS.verbosity, form.values.verbosity, form.verbosities));
  for (const name of ["voice", "rate", "breath", "fit"]) general.append(field(name, LABELS[name], form.values[name]));
  const voices = document.createElement("datalist");
  voices.id = "voice-ids";
  for (const id of form.voices || []) {
    const option = document.createElement("option");
    option.value = id;
    voices.append(option);
  }
  general.append(voices);
  fields.append(general);
  $("settings").elements.namedItem("voice").setAttribute("list", "voice-ids");
  clearErrors();
}

function clearErrors() {
  $("form-error").hidden = true;
  for (const input of $("settings").querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  for (const p of $("fields").querySelectorAll(".error")) { p.hidden = true; p.textContent = ""; }
}

function showErrors(errors) {
  clearErrors();
  let first = null;
  for (const e of errors) {
    const input = e.field ? $("settings").elements.namedItem(e.field) : null;
    if (input) {
      const p = $(input.id + "-error");
      p.textContent = e.message;
      p.hidden = false;
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    } else {
      $("form-error").textContent = e.message;
      $("form-error").hidden = false;
    }
  }
  if (first) first.focus();
}

async function submitSettings(event) {
  event.preventDefault();
  const body = new URLSearchParams(new FormData($("settings")));
  body.set("generation", String(shown));
  $("render").disabled = true;
  let answer;
  try {
    const response = await fetch("api/settings", { method: "POST", body });
    answer = await response.json();
  } catch (e) {
    answer = { errors: [{ field: null, message: "the server could not be reached: " + e.message }] };
  }
  $("render").disabled = false;
  if (answer.errors) { showErrors(answer.errors); return; }
  clearErrors();
  if (answer.rendering) { showRender({ state: "rendering", progress: 0 }); poll(700); }
  else $("render-text").textContent = answer.message || "";
}

function showRender(render) {
  const bar = $("progress"), text = $("render-text");
  const busy = render.state === "rendering";
  bar.hidden = !busy;
  $("render").disabled = busy;
  if (busy) {
    bar.value = render.progress || 0;
    bar.textContent = Math.round((render.progress || 0) * 100) + " %";
    text.textContent = render.progress > 0
      ? "Rendering: " + Math.round(render.progress * 100) + " %. The current version plays until it is done."
      : "Preparing the speech… The current version plays until it is done.";
  } else if (render.state === "failed") {
    text.textContent = "";
    showErrors([{ field: render.field || null, message: render.error }]);
  } else if (render.state === "done") {
    text.textContent = "Done: now playing the new version (" + render.seconds + " s to render).";
  } else {
    text.textContent = "";
  }
}

async function refresh() {
  let next;
  try { next = await getState(); } catch (e) { return; }
  if (next.generation !== shown) showExport(next);
  else state.render = next.render;
  showRender(next.render);
  poll(next.render.state === "rendering" ? 700 : 5000);
}

function poll(ms) {
  clearTimeout(polling);
  polling = setTimeout(refresh, ms);
}

// ------------------------------------------------------------------ wiring

async function start() {
  mediaSessionHandlers();
  $("play").addEventListener("click", togglePlay);
  $("prev").addEventListener("click", previousChapter);
  $("next").addEventListener("click", nextChapter);
  $("seek").addEventListener("input", () => { audio.currentTime = Number($("seek").value); update(); });
  $("settings").addEventListener("submit", submitSettings);
  for (const event of ["timeupdate", "play", "pause", "seeked", "loadedmetadata", "ended"]) {
    audio.addEventListener(event, () => { update(); setPosition(); });
  }
  audio.addEventListener("play", () => { if ("mediaSession" in navigator) navigator.mediaSession.playbackState = "playing"; });
  audio.addEventListener("pause", () => { if ("mediaSession" in navigator) navigator.mediaSession.playbackState = "paused"; });
  document.addEventListener("keydown", (event) => {
    const tag = (event.target.tagName || "").toLowerCase();
    if (["input", "select", "textarea", "button", "summary", "a"].includes(tag) || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === " " || event.key === "k") { event.preventDefault(); togglePlay(); }
    else if (event.key === "ArrowRight" || event.key === "n") { event.preventDefault(); nextChapter(); }
    else if (event.key === "ArrowLeft" || event.key === "b") { event.preventDefault(); previousChapter(); }
  });
  // smooth enough for the lyrics while playing, without timeupdate's 250 ms steps
  setInterval(() => { if (!audio.paused) update(); }, 100);
  try {
    const first = await getState();
    showExport(first);
    showRender(first.render);
    poll(first.render.state === "rendering" ? 700 : 5000);
  } catch (e) {
    $("load-error").textContent = "Could not load the routine: " + e.message;
    $("load-error").hidden = false;
  }
}

start();
