// voiceguide's phone page: one <audio> element playing the full-routine track (it keeps
// playing with the screen locked), its chapters and timed lyrics, lock-screen controls
// through the Media Session API, downloads, and the settings form.
//
// Sections, top to bottom: helpers; the connection (every request, a loss told on the page
// and retried with backoff); what this phone keeps (its place in each export); the practice
// log (what this phone played, reported to the computer); the player;
// the stage above the controls (instruction, resume offer, done screen); the check-in at
// the end and the pain chart; lock-screen controls; the settings form and its render;
// polling; wiring. A new screen or panel
// (e.g. something asked at the end) goes in the stage or after the player, with its own
// section here, and is started from start().
"use strict";

const $ = (id) => document.getElementById(id);
const audio = $("audio");
let state = null;        // what /api/state said last
let shown = -1;          // the generation the player plays
let chapterIndex = -1;
let lyricIndex = -2;

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

function absolute(url) { return new URL(url, document.baseURI).href; }

// ------------------------------------------------------------------ the connection

const REQUEST_TIMEOUT_MS = 8000;
const RETRY_MS = [1000, 2000, 4000, 8000, 10000];  // then every 10 s, for as long as the page is open
const connection = { lost: false, failures: 0, since: 0 };

// a request to the server: an answer, or an Error saying in plain words what went wrong
async function request(path, options) {
  const control = new AbortController();
  const timer = setTimeout(() => control.abort(), REQUEST_TIMEOUT_MS);
  try {
    const response = await fetch(path, { cache: "no-store", ...options, signal: control.signal });
    if (response.status === 403) {
      const error = new Error("This link no longer opens the player: scan the code the computer shows.");
      error.final = true;
      throw error;
    }
    return response;
  } catch (e) {
    if (e.final) throw e;
    throw new Error("The computer running voiceguide cannot be reached.");
  } finally {
    clearTimeout(timer);
  }
}

function tell(text, kind) {
  const box = $("connection");
  box.textContent = text;
  box.className = "connection " + (kind || "");
  box.hidden = !text;
}

function connectionLost(error) {
  if (!connection.lost) { connection.lost = true; connection.since = Date.now(); }
  connection.failures += 1;
  const wait = RETRY_MS[Math.min(connection.failures - 1, RETRY_MS.length - 1)];
  if (error.final) { tell(error.message, "bad"); return wait; }
  const playingOn = !audio.paused && !player.waiting && !audio.error;
  tell(error.message + " " + (playingOn ? "Playing on from what was loaded. " : "") +
    "Trying again every few seconds; it carries on by itself.", "bad");
  player.show();
  return wait;
}

function connectionBack() {
  const was = connection.lost;
  connection.lost = false;
  connection.failures = 0;
  player.recover(was);
  if (!was) return;
  tell("Connected again.", "good");
  setTimeout(() => { if (!connection.lost) tell(""); }, 3000);
}

// ------------------------------------------------------------------ kept on this phone

// localStorage may be unavailable (private mode, full): then nothing is kept, nothing fails
const keep = {
  get(key) { try { return JSON.parse(localStorage.getItem(key)); } catch (e) { return null; } },
  set(key, value) { try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* not kept */ } },
  remove(key) { try { localStorage.removeItem(key); } catch (e) { /* nothing kept */ } },
};

// the place in an export, per fingerprint: the same export (also after a restart) resumes
const position = {
  savedAt: -10,
  key() { return state && state.fingerprint ? "voiceguide:position:" + state.fingerprint : null; },
  save(force) {
    const key = position.key();
    if (!key || resume.open || audio.readyState === 0) return;
    const t = audio.currentTime || 0;
    if (!force && Math.abs(t - position.savedAt) < 2) return;
    position.savedAt = t;
    keep.set(key, { t: Math.round(t * 10) / 10, at: Date.now() });
  },
  saved() {
    const key = position.key(), value = key ? keep.get(key) : null;
    return value && typeof value.t === "number" ? value.t : null;
  },
  forget() { const key = position.key(); if (key) keep.remove(key); position.savedAt = -10; },
};

// ------------------------------------------------------------------ the practice log

// what this phone played, reported to the computer for the practice log: a session (its id
// kept on the phone with the place, so a reload that resumes goes on with it) and every
// stretch heard, all of them in each report: a report lost or sent twice changes nothing
const REPORT_MS = 10000;
const MAX_SPANS = 400;
const practice = {
  session: null,  // { id, fingerprint, heard: [[start_s, end_s], ...] }
  last: null,     // { t, at }: where the sound was, and when, at the last timeupdate
  sentAt: -REPORT_MS,
  key(fingerprint) { return "voiceguide:session:" + fingerprint; },
  current() {
    if (!state || !state.fingerprint) return null;
    const s = practice.session;
    if (s && s.fingerprint === state.fingerprint) return s;
    if (s) practice.end("stopped");  // another export plays now
    const kept = keep.get(practice.key(state.fingerprint));
    practice.session = kept && typeof kept.id === "string" && Array.isArray(kept.heard) ? kept : null;
    return practice.session;
  },
  begin() {
    if (!state || !state.fingerprint) return;
    if (!practice.current()) {
      const bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);
      const id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      practice.session = { id: id, fingerprint: state.fingerprint, heard: [] };
    }
    practice.report("playing");
  },
  // each timeupdate while playing: the stretch since the last one, when the sound went on
  // at its pace (not a seek, not a stall)
  hear() {
    const t = audio.currentTime || 0, at = performance.now(), last = practice.last;
    practice.last = !audio.paused && audio.readyState >= 3 ? { t: t, at: at } : null;
    const s = practice.current();
    if (!s || !last || audio.paused) return;
    const moved = t - last.t;
    if (moved <= 0 || moved > ((at - last.at) / 1000) * (audio.playbackRate || 1) + 0.75) return;
    practice.add(s.heard, last.t, t);
    if (at - practice.sentAt >= REPORT_MS) practice.report("playing");
  },
  add(spans, start, end) {
    spans.push([start, end]);
    spans.sort((a, b) => a[0] - b[0]);
    const merged = [];
    for (const span of spans) {
      const top = merged[merged.length - 1];
      if (top && span[0] <= top[1] + 0.3) top[1] = Math.max(top[1], span[1]);
      else merged.push([span[0], span[1]]);
    }
    while (merged.length > MAX_SPANS) {  // after hundreds of seeks: the closest two become one
      let best = 1;
      for (let i = 2; i < merged.length; i++) {
        if (merged[i][0] - merged[i - 1][1] < merged[best][0] - merged[best - 1][1]) best = i;
      }
      merged[best - 1][1] = merged[best][1];
      merged.splice(best, 1);
    }
    spans.splice(0, spans.length, ...merged);
  },
  report(what, beacon) {
    const s = practice.session;
    if (!s) return;
    practice.sentAt = performance.now();
    if (what === "done" || what === "stopped") keep.remove(practice.key(s.fingerprint));
    else keep.set(practice.key(s.fingerprint), s);
    const body = new URLSearchParams({
      id: s.id, fingerprint: s.fingerprint, state: what,
      position_s: (audio.currentTime || 0).toFixed(3),
      heard: s.heard.map((x) => x[0].toFixed(3) + "-" + x[1].toFixed(3)).join(","),
    });
    if (beacon && navigator.sendBeacon) { navigator.sendBeacon("api/session", body); return; }
    // not told when it fails: the next report carries everything again
    request("api/session", { method: "POST", body: body })
      .then((response) => (response.ok ? response.json() : null))
      .then((answer) => {
        if (what === "done" && answer && answer.recorded) {
          $("done-text").textContent += " Recorded in your practice log (voiceguide history).";
          if (!$("done").hidden) checkin.offer(s.id);  // asked only about a session kept
        }
      })
      .catch(() => {});
  },
  end(what) {
    if (!practice.session) return;
    practice.report(what);
    practice.session = null;
    practice.last = null;
  },
};

// ------------------------------------------------------------------ the player

const player = {
  intent: "pause",   // what the person asked for last: "play" or "pause"
  waiting: false,    // playing was asked for, but the sound has no data to go on
  lastTime: 0,       // where the sound was when it last had data
  play() {
    player.intent = "play";
    stage.closeOverlays();
    if (audio.error || (connection.lost && audio.readyState < 3)) { player.recover(true); player.show(); return; }
    audio.play().catch(() => {});
    player.show();
  },
  pause() { player.intent = "pause"; player.waiting = false; audio.pause(); player.show(); },
  toggle() { if (player.intent === "play" && (!audio.paused || player.waiting)) player.pause(); else player.play(); },
  seek(t) {
    if (!state) return;
    const to = Math.max(0, Math.min(t, state.duration_s || t));
    audio.currentTime = to;
    player.lastTime = to;
    update();
  },
  // load the audio again where it was (after an error, or a lost connection: ``lost``),
  // playing on when playing was asked for; a sound still loading is left alone
  recover(lost) {
    if (!state) return;
    const stuck = audio.error || audio.networkState === 3 ||
      (lost && player.intent === "play" && (player.waiting || audio.readyState < 3));
    if (!stuck) return;
    const at = audio.error ? player.lastTime : audio.currentTime || player.lastTime;
    load(state.audio, at, player.intent === "play");
  },
  // the play button tells the truth: playing, waiting for sound, or paused
  show() {
    const button = $("play");
    const stuck = player.intent === "play" && (player.waiting || !!audio.error);
    const playing = !stuck && !audio.paused;
    button.classList.toggle("playing", playing);
    button.classList.toggle("waiting", stuck);
    button.setAttribute("aria-label", playing ? "Pause" : stuck ? "Pause (waiting for the sound)" : "Play");
  },
};

function load(url, at, play) {
  audio.src = url;
  audio.load();
  if (at > 0) {
    audio.addEventListener("loadedmetadata", () => { audio.currentTime = at; }, { once: true });
  }
  player.waiting = play;
  if (play) audio.play().catch(() => {});
}

function showExport(next) {
  const first = state === null;
  const oldTitle = state && chapterIndex >= 0 ? state.chapters[chapterIndex].title : null;
  const edits = first ? {} : form.edits();
  state = next;
  shown = next.generation;
  $("title").textContent = next.title;
  document.title = next.title + " - voiceguide";
  $("total").textContent = clock(next.duration_s) + " in all · " + next.chapters.length + " chapters";
  if (next.cover) $("cover").src = next.cover; else $("cover").removeAttribute("src");
  $("seek").max = String(Math.floor(next.duration_s));
  $("remaining").textContent = "-" + clock(next.duration_s);
  $("command").textContent = next.command;
  renderChapters();
  renderDownloads();
  form.build(edits);
  $("more").hidden = false;
  chapterIndex = -1;
  lyricIndex = -2;
  const resumeAt = oldTitle ? next.chapters.findIndex((c) => c.title === oldTitle) : -1;
  load(next.audio, resumeAt > 0 ? next.chapters[resumeAt].start_s : 0, player.intent === "play");
  if (first) { resume.offer(); chart.load(); }
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
    // named by its visible words (a voice-control user says what is shown): "Closing 18:57"
    button.append(name, " ", at);
    button.addEventListener("click", () => seekChapter(i, true));
    item.append(button);
    list.append(item);
  });
}

function megabytes(bytes) {
  return bytes >= 1e6 ? (bytes / 1e6).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1e3)) + " kB";
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
    size.textContent = file.bytes !== null ? megabytes(file.bytes)
      : file.about_bytes ? "about " + megabytes(file.about_bytes) : "";
    link.append(name, size);
    item.append(link);
    list.append(item);
  }
}

function seekChapter(i, play) {
  if (!state || !state.chapters.length) return;
  const index = Math.max(0, Math.min(state.chapters.length - 1, i));
  player.seek(state.chapters[index].start_s);
  if (play) player.play();
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
    stage.say(l >= 0 ? state.lyrics[l].text : "");
  }
  $("elapsed").textContent = clock(t);
  $("remaining").textContent = "-" + clock((state.duration_s || 0) - t);
  if (document.activeElement !== $("seek")) $("seek").value = String(Math.floor(t));
  $("seek").setAttribute("aria-valuetext", clock(t) + " of " + clock(state.duration_s));
  player.show();
}

// ------------------------------------------------------------------ the stage: the fixed-size box above the controls

const stage = {
  // the instruction, set smaller until it fits the box (the controls never move)
  say(text) {
    const box = $("instruction");
    box.textContent = text;
    box.className = "instruction";
    for (const size of ["fit-1", "fit-2", "fit-3", "fit-4"]) {
      if (box.scrollHeight <= box.clientHeight + 1) break;
      box.className = "instruction " + size;
    }
  },
  closeOverlays() { resume.close(); done.close(); checkin.close(); },
};

const resume = {
  open: false,
  at: 0,
  // "Resume at 5:12" or "Start over", when this export was left in the middle
  offer() {
    const t = position.saved();
    if (t === null || t < 5 || t > state.duration_s - 5) return;
    resume.at = t;
    resume.open = true;
    const chapter = indexAt(state.chapters, t);
    $("resume-text").textContent = "You stopped at " + clock(t) +
      (chapter >= 0 ? " in " + state.chapters[chapter].title : "") + ".";
    $("resume-at").textContent = "Resume at " + clock(t);
    $("resume").hidden = false;
    $("instruction").hidden = true;
    audio.currentTime = t;  // kept by the element until its metadata is in
    player.lastTime = t;
  },
  close() {
    if (!resume.open) return;
    resume.open = false;
    $("resume").hidden = true;
    $("instruction").hidden = false;
  },
  choose(again) {
    const t = again ? 0 : resume.at;
    resume.close();
    if (again) { position.forget(); if (practice.current()) practice.end("stopped"); }
    player.seek(t);
    player.play();
    position.save(true);
  },
};

const done = {
  show() {
    $("done-text").textContent = "The whole routine, " + spoken(state.duration_s) + ".";
    $("done").hidden = false;
    $("instruction").hidden = true;
  },
  close() { $("done").hidden = true; if (!resume.open) $("instruction").hidden = false; },
};

// ------------------------------------------------------------------ the check-in at the end

// "How does your back feel now?", after the player when a session played to the end was
// recorded. A tap keeps the score with that session (api/pain; another tap replaces it);
// skip, playing again or leaving the page keeps nothing. Never asked again for it.
const checkin = {
  id: null,  // the session asked about
  buttons() { return $("checkin").querySelectorAll(".score"); },
  offer(id) {
    checkin.id = id;
    for (const button of checkin.buttons()) button.setAttribute("aria-pressed", "false");
    $("checkin-said").textContent = "";
    $("checkin-skip").hidden = false;
    $("checkin").hidden = false;
    // a screen reader hears the question (it was on the play button, or nowhere); someone
    // busy in the form keeps their place
    const at = document.activeElement;
    if (!at || at === document.body || at === $("play")) $("checkin-question").focus();
  },
  close() {
    if ($("checkin").hidden) return;
    $("checkin").hidden = true;
    checkin.id = null;
  },
  skip() {
    checkin.close();
    $("play").focus();
  },
  async choose(score) {
    const id = checkin.id;
    if (id === null) return;
    const said = $("checkin-said");
    said.textContent = "Keeping " + score + "…";
    let answer;
    try {
      const body = new URLSearchParams({ id: id, score: String(score) });
      const response = await request("api/pain", { method: "POST", body: body });
      answer = await response.json();
    } catch (e) {
      answer = { recorded: false, message: e.message };
    }
    if (checkin.id !== id) return;  // closed meanwhile
    if (answer && answer.recorded) {
      for (const button of checkin.buttons()) {
        button.setAttribute("aria-pressed", String(Number(button.dataset.score) === score));
      }
      said.textContent = "Noted: " + score + ". Kept with this session in your practice log; " +
        "another number replaces it.";
      $("checkin-skip").hidden = true;
      chart.load();
    } else {
      const why = String((answer && answer.message) || "the practice log could not be written");
      said.textContent = "Not kept: " + why.replace(/\.$/, "") + ". Tap a number to try again.";
    }
  },
};

// ------------------------------------------------------------------ the pain chart

// the check-ins as `voiceguide history` draws them, from its JSON (api/pain): each score a
// dot, the week's average a dashed line, the days practised marked under the axis. Plain
// SVG drawn here; what was entered, as entered: nothing is read into it
const SVG_NS = "http://www.w3.org/2000/svg";
const CHART = { width: 320, height: 190, left: 30, right: 312, top: 10, bottom: 150 };
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

function dayNumber(iso) {  // days since 1970-01-01 of a calendar date "2026-12-06"
  const [y, m, d] = iso.split("-").map(Number);
  return Date.UTC(y, m - 1, d) / 86400000;
}

function dayName(iso, weekday) {
  const date = new Date(dayNumber(iso) * 86400000);
  return (weekday ? WEEKDAYS[date.getUTCDay()] + " " : "") + date.getUTCDate() + " " + MONTHS[date.getUTCMonth()];
}

function painSummary(pain) {
  const recent = pain.last_2_weeks, before = pain.previous_2_weeks;
  if (recent.average === null && before.average === null) return "No scores in the last 4 weeks.";
  const shown = (x) => (x === null ? "none" : x.toFixed(1));
  return "Average " + shown(recent.average) + " in the last 2 weeks (" + recent.count +
    (recent.count === 1 ? " score), " : " scores), ") + shown(before.average) + " in the 2 before (" +
    before.count + ").";
}

const chart = {
  async load() {
    try {
      const response = await request("api/pain");
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.message || "the practice log cannot be read");
      chart.draw(answer.pain);
    } catch (e) {
      $("pain-summary").textContent = "The check-ins cannot be shown now: " + e.message;
    }
  },
  shape(name, attributes, text) {
    const element = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
    if (text !== undefined) element.textContent = text;
    return element;
  },
  draw(pain) {
    const svg = $("pain-chart"), c = CHART, days = pain.days, n = days.length;
    if (!n) return;
    const first = dayNumber(days[0].day);
    const x = (i) => c.left + ((i + 0.5) * (c.right - c.left)) / n;
    const y = (score) => c.bottom - (score / 10) * (c.bottom - c.top);
    const parts = [];
    for (const score of [0, 2, 4, 6, 8, 10]) {
      parts.push(chart.shape("line", { class: score ? "grid" : "axis", x1: c.left, x2: c.right, y1: y(score), y2: y(score) }));
      parts.push(chart.shape("text", { x: c.left - 6, y: y(score) + 4, "text-anchor": "end" }, String(score)));
    }
    for (let i = 0; i + 7 < n; i += 14) {  // a date every two weeks, then today
      parts.push(chart.shape("text", { x: Math.max(x(i), 24), y: c.bottom + 34, "text-anchor": "middle" },
        dayName(days[i].day)));
    }
    parts.push(chart.shape("text", { x: c.right, y: c.bottom + 34, "text-anchor": "end" }, "today"));
    const weekly = pain.weekly.map((w) => {
      const i = Math.min(n - 1, Math.max(0, dayNumber(w.week_of) - first + 3));  // its middle
      return x(i).toFixed(1) + "," + y(w.average).toFixed(1);
    });
    if (weekly.length > 1) parts.push(chart.shape("polyline", { class: "weekly", points: weekly.join(" ") }));
    let count = 0, low = 10, high = 0, practised = 0;
    days.forEach((d, i) => {
      for (const score of d.scores) {
        parts.push(chart.shape("circle", { class: "dot", cx: x(i), cy: y(score), r: 4.5, "data-day": d.day, "data-score": score }));
        count += 1; low = Math.min(low, score); high = Math.max(high, score);
      }
      if (d.practised) {
        practised += 1;
        const px = x(i), py = c.bottom + 6;
        parts.push(chart.shape("path", { class: "practised", d: `M${px - 3.5} ${py + 8}h7l-3.5 -8z`, "data-day": d.day }));
      }
    });
    if (weekly.length === 1) {  // one week with scores: its average as a short dash
      const [wx, wy] = weekly[0].split(",").map(Number);
      parts.push(chart.shape("line", { class: "weekly", x1: wx - 12, x2: wx + 12, y1: wy, y2: wy }));
    }
    svg.replaceChildren(...parts);
    const span = dayName(days[0].day) + " to " + dayName(days[n - 1].day);
    svg.setAttribute("aria-label", "Pain scores by day, " + span + ": " +
      (count ? count + (count === 1 ? " score" : " scores") + ", from " + low + " to " + high : "no scores") +
      "; " + practised + (practised === 1 ? " day" : " days") + " practised. " + painSummary(pain));
    $("pain-summary").textContent = count ? painSummary(pain)
      : "No check-ins in these 8 weeks yet: the page asks after a session played to the end.";
    const list = $("pain-list");
    list.replaceChildren();
    for (const d of days.slice().reverse()) {
      if (!d.scores.length) continue;
      const item = document.createElement("li");
      item.textContent = dayName(d.day, true) + ": " + d.scores.join(", ");
      list.append(item);
    }
    $("pain-details").hidden = count === 0;
  },
};

// ------------------------------------------------------------------ lock-screen controls

function setMetadata(title) {
  if (!("mediaSession" in navigator) || typeof MediaMetadata === "undefined") return;
  const artwork = state.cover ? [{ src: absolute(state.cover), sizes: "256x256", type: "image/jpeg" }] : [];
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

function skip(seconds) { player.seek((audio.currentTime || 0) + seconds); }

function mediaSessionHandlers() {
  if (!("mediaSession" in navigator)) return;
  const handlers = {
    play: () => player.play(),
    pause: () => player.pause(),
    previoustrack: previousChapter,
    nexttrack: nextChapter,
    seekto: (details) => player.seek(details.seekTime),
    seekbackward: (details) => skip(-(details.seekOffset || 15)),
    seekforward: (details) => skip(details.seekOffset || 15),
  };
  for (const [action, handler] of Object.entries(handlers)) {
    try { navigator.mediaSession.setActionHandler(action, handler); } catch (e) { /* unsupported */ }
  }
}

// ------------------------------------------------------------------ the settings form

// every field is built from the settings' declaration (api/form): the server's list of
// settings, with each one's label, kind and choices, so a new setting needs no change here
const form = {
  declared: null,  // api/form's settings, asked for once
  mine: null,      // the number of the render this page asked for
  seen: "",        // the render status shown last: each is told once
  label(setting) { return setting.hint ? setting.label + " (" + setting.hint + ")" : setting.label; },
  field(name, setting, value) {
    const label = form.label(setting);
    const choices = setting.type === "choice" ? setting.choices : null;
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
      if (setting.type === "per exercise" || setting.type === "integer") input.inputMode = "decimal";
    }
    input.id = id;
    input.name = name;
    input.value = value;
    input.dataset.server = value;  // what the export being served was made with
    const error = document.createElement("p");
    error.className = "error";
    error.id = id + "-error";
    error.hidden = true;
    input.setAttribute("aria-describedby", error.id);
    box.append(caption, input, error);
    return box;
  },
  // the fields changed here and not sent yet: another phone's render must not undo them
  edits() {
    const changed = {};
    for (const input of $("settings").querySelectorAll("[name]")) {
      if (input.dataset.server !== undefined && input.value !== input.dataset.server) changed[input.name] = input.value;
    }
    return changed;
  },
  build(edits) {
    const fields = $("fields");
    fields.replaceChildren();
    const f = state.form;
    const declared = Object.fromEntries(form.declared.map((setting) => [setting.name, setting]));
    for (const exercise of f.exercises) {
      const set = document.createElement("fieldset");
      const legend = document.createElement("legend");
      legend.textContent = exercise.title;
      set.append(legend);
      for (const x of exercise.fields) set.append(form.field(x.name, declared[x.option], x.value));
      fields.append(set);
    }
    const general = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = "Voice and timing";
    general.append(legend);
    for (const setting of form.declared) {
      if (setting.type !== "per exercise") general.append(form.field(setting.name, setting, f.values[setting.name]));
    }
    const voices = document.createElement("datalist");
    voices.id = "voice-ids";
    for (const id of f.voices || []) {
      const option = document.createElement("option");
      option.value = id;
      voices.append(option);
    }
    general.append(voices);
    fields.append(general);
    const elements = $("settings").elements;
    if (elements.namedItem("voice")) elements.namedItem("voice").setAttribute("list", "voice-ids");
    for (const [name, value] of Object.entries(edits || {})) {
      const input = elements.namedItem(name);
      if (input) input.value = value;
    }
    form.clearErrors();
  },
  clearErrors() {
    $("form-error").hidden = true;
    for (const input of $("settings").querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    for (const p of $("fields").querySelectorAll(".error")) { p.hidden = true; p.textContent = ""; }
  },
  // errors next to their fields; focus moves to the first only when this page just sent
  // the form (never for a status polled later, nor for another phone's render)
  showErrors(errors, focus) {
    form.clearErrors();
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
    if (first && focus) first.focus();
  },
  async submit(event) {
    event.preventDefault();
    const body = new URLSearchParams(new FormData($("settings")));
    body.set("generation", String(shown));
    $("render").disabled = true;
    let answer;
    try {
      const response = await request("api/settings", { method: "POST", body });
      answer = await response.json();
    } catch (e) {
      answer = { errors: [{ field: null, message: e.message + " Your changes are still here: send them again." }] };
    }
    $("render").disabled = false;
    if (answer.errors) { form.showErrors(answer.errors, true); return; }
    form.clearErrors();
    if (answer.rendering) {
      form.mine = answer.id;
      form.showRender({ id: answer.id, state: "rendering", progress: 0 });
      poll.soon(700);
    } else $("render-text").textContent = answer.message || "";
  },
  // ``switched``: the page has just switched to a new export (rendered meanwhile)
  showRender(render, switched) {
    const bar = $("progress"), text = $("render-text");
    const busy = render.state === "rendering";
    const mine = render.id !== undefined && render.id === form.mine;
    bar.hidden = !busy;
    $("render").disabled = busy;
    if (busy) {
      bar.value = render.progress || 0;
      bar.textContent = Math.round((render.progress || 0) * 100) + " %";
      const who = mine ? "your settings" : "settings sent from another phone" + (render.what ? " (" + render.what + ")" : "");
      text.textContent = (render.progress > 0
        ? "Rendering " + who + ": " + Math.round(render.progress * 100) + " %."
        : "Preparing the speech for " + who + "…") + " The current version plays until it is done.";
      form.seen = render.id + ":rendering";
      return;
    }
    const key = render.id + ":" + render.state;
    if (key === form.seen) return;  // told already
    const fresh = form.seen.endsWith(":rendering") || mine || !!switched;
    form.seen = key;
    if (render.state === "failed") {
      if (mine) { text.textContent = ""; form.showErrors([{ field: render.field || null, message: render.error }], true); }
      else text.textContent = fresh ? "A render sent from another phone failed: " + render.error : "";
    } else if (render.state === "done" && fresh) {
      text.textContent = "Done: now playing the new version (" + render.seconds + " s to render). " +
        (render.kept ? "Kept as this routine's settings, for the next start too, in " + render.kept + "."
          : "The settings could not be kept for the next start (see the computer's terminal).");
    } else {
      text.textContent = "";
    }
  },
};

// ------------------------------------------------------------------ polling: never stops

const poll = {
  timer: null,
  busy: false,
  soon(ms) { clearTimeout(poll.timer); poll.timer = setTimeout(poll.tick, ms); },
  async tick() {
    if (poll.busy) return;
    poll.busy = true;
    let wait;
    try {
      if (form.declared === null) {
        const declared = await request("api/form");
        if (!declared.ok) throw new Error("The computer answered with an error (" + declared.status + ").");
        form.declared = (await declared.json()).settings;
      }
      const response = await request("api/state");
      if (!response.ok) throw new Error("The computer answered with an error (" + response.status + ").");
      const next = await response.json();
      connectionBack();
      const switched = state !== null && (next.generation !== shown || next.fingerprint !== state.fingerprint);
      if (state === null || switched) showExport(next);
      else state.render = next.render;
      form.showRender(next.render, switched);
      wait = next.render.state === "rendering" ? 700 : 5000;
    } catch (e) {
      wait = connectionLost(e);
    } finally {
      poll.busy = false;
    }
    poll.soon(wait);
  },
};

// ------------------------------------------------------------------ wiring

function start() {
  mediaSessionHandlers();
  $("play").addEventListener("click", player.toggle);
  $("prev").addEventListener("click", previousChapter);
  $("next").addEventListener("click", nextChapter);
  $("back").addEventListener("click", () => skip(-15));
  $("forward").addEventListener("click", () => skip(15));
  $("resume-at").addEventListener("click", () => resume.choose(false));
  $("start-over").addEventListener("click", () => resume.choose(true));
  $("seek").addEventListener("input", () => player.seek(Number($("seek").value)));
  $("settings").addEventListener("submit", form.submit);
  for (const button of checkin.buttons()) {
    button.addEventListener("click", () => checkin.choose(Number(button.dataset.score)));
  }
  $("checkin-skip").addEventListener("click", checkin.skip);
  for (const event of ["timeupdate", "play", "pause", "seeked", "loadedmetadata", "ended"]) {
    audio.addEventListener(event, () => { update(); setPosition(); });
  }
  audio.addEventListener("timeupdate", () => {
    if (audio.readyState >= 3) player.lastTime = audio.currentTime;
    if (!audio.paused) position.save(false);
    practice.hear();
  });
  audio.addEventListener("playing", () => { player.waiting = false; player.show(); practice.begin(); });
  audio.addEventListener("seeking", () => { practice.last = null; });
  audio.addEventListener("pause", () => { practice.last = null; if (!audio.ended) practice.report("paused"); });
  audio.addEventListener("waiting", () => {
    if (player.intent === "play") player.waiting = true;
    player.show();
    setTimeout(() => { if (player.waiting) poll.soon(0); }, 1500);  // the connection, perhaps
  });
  audio.addEventListener("error", () => { player.show(); poll.soon(0); });
  audio.addEventListener("pause", () => position.save(true));
  audio.addEventListener("seeked", () => position.save(true));
  audio.addEventListener("ended", () => {
    player.intent = "pause";
    position.forget();
    done.show();
    practice.current();
    practice.end("done");
  });
  audio.addEventListener("play", () => { if ("mediaSession" in navigator) navigator.mediaSession.playbackState = "playing"; });
  audio.addEventListener("pause", () => { if ("mediaSession" in navigator) navigator.mediaSession.playbackState = "paused"; });
  window.addEventListener("pagehide", () => { position.save(true); if (!audio.paused) practice.report("paused", true); });
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) position.save(true); else poll.soon(0);
  });
  window.addEventListener("online", () => poll.soon(0));
  document.addEventListener("keydown", (event) => {
    const tag = (event.target.tagName || "").toLowerCase();
    if (["input", "select", "textarea", "button", "summary", "a"].includes(tag) || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === " " || event.key === "k") { event.preventDefault(); player.toggle(); }
    else if (event.key === "ArrowRight" || event.key === "n") { event.preventDefault(); nextChapter(); }
    else if (event.key === "ArrowLeft" || event.key === "b") { event.preventDefault(); previousChapter(); }
  });
  // smooth enough for the lyrics while playing, without timeupdate's 250 ms steps
  setInterval(() => { if (!audio.paused) update(); }, 100);
  poll.tick();
}

start();
