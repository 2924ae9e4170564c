/* Trợ lý Dịch vụ công: the chat widget. One tag puts it on a page:
 *   <script src="https://…/static/widget.js" defer></script>
 * It talks only to the web app that served it (POST /api/chat); Rasa and its token stay behind
 * that app. The conversation id is the app's signed token (header X-Widget-Session, kept with the
 * history), so the tag also works on another site's page that the app lists in
 * TROLYDVC_WEB_EMBED_ORIGINS (trolydvc/web/embed.py); on the app's own pages the session cookie
 * carries it too. Nothing is loaded from elsewhere. Bot text is shown with textContent (never as HTML); line breaks are kept by CSS.
 * The conversation is kept in sessionStorage: it survives reloads, and ends with the browser
 * session like the cookie (a shared computer at the commune office keeps nothing).
 * What arrives later (an official's answer, a followed dossier's news) is fetched from
 * POST /api/inbox: once when the page loads, then as often as the server says ("poll" seconds,
 * while a case with an official is open or dossiers are followed). The highest message id shown
 * is kept with the history and sent back, which acknowledges it: each message is shown once. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || document.getElementById("trolydvc-widget")) return;
  var API = new URL("/api/chat", script.src).href;
  var INBOX = new URL("/api/inbox", script.src).href;
  var CSS = new URL("widget.css", script.src).href;
  var STORE = "trolydvc-chat-v1";
  var MAX_KEPT = 100; // entries of history kept
  var MAX_CHARS = 2000; // as the server (and Rasa's REST channel)
  var T = {
    title: "Trợ lý Dịch vụ công",
    open: "Mở trò chuyện với Trợ lý Dịch vụ công",
    unread: " (có tin nhắn mới)",
    close: "Đóng cửa sổ trò chuyện",
    label: "Câu hỏi của Bạn",
    placeholder: "Nhập câu hỏi của Bạn…",
    send: "Gửi",
    typing: "Trợ lý đang trả lời…",
    log: "Cuộc trò chuyện",
    welcome: "Xin chào! Tôi là Trợ lý Dịch vụ công. Bạn có thể hỏi về thủ tục hành chính " +
      "(ví dụ: làm giấy khai sinh cần gì?) hoặc tra cứu hồ sơ bằng mã hồ sơ.",
    failed: "Không gửi được tin nhắn. Bạn kiểm tra kết nối mạng rồi thử lại nhé.",
    you: "Bạn",
    bot: "Trợ lý",
    official: "Cán bộ",
    relayed: "Đã chuyển tới cán bộ",
    handoff: "Bạn đang trò chuyện với cán bộ một cửa.",
    end: "Kết thúc trò chuyện với cán bộ",
    endPayload: "/end_handoff"
  };

  function load() {
    try {
      var data = JSON.parse(sessionStorage.getItem(STORE) || "{}");
      return {
        open: !!data.open,
        messages: Array.isArray(data.messages) ? data.messages : [],
        inbox: Number(data.inbox) > 0 ? Number(data.inbox) : 0, // highest inbox id shown
        handoff: !!data.handoff,
        session: typeof data.session === "string" ? data.session : ""
      };
    } catch (e) {
      return { open: false, messages: [], inbox: 0, handoff: false, session: "" };
    }
  }
  var state = load();
  function save() {
    state.messages = state.messages.slice(-MAX_KEPT);
    try { sessionStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* full or off */ }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text != null) node.textContent = text;
    return node;
  }

  var host = el("div", { id: "trolydvc-widget" });
  var root = host.attachShadow({ mode: "open" });
  root.appendChild(el("link", { rel: "stylesheet", href: CSS }));
  var bubble = el("button", {
    type: "button", "class": "bubble", "aria-label": T.open, "aria-expanded": "false",
    "aria-controls": "tldvc-panel"
  });
  bubble.appendChild(icon());
  var panel = el("section", {
    id: "tldvc-panel", "class": "panel", role: "dialog", "aria-labelledby": "tldvc-title"
  });
  panel.hidden = true;
  var head = el("header", { "class": "head" });
  head.appendChild(el("h2", { id: "tldvc-title" }, T.title));
  var closer = el("button", { type: "button", "class": "close", "aria-label": T.close }, "×");
  head.appendChild(closer);
  // tabindex: a long answer can be scrolled with the arrow keys
  var log = el("div", {
    "class": "log", role: "log", "aria-live": "polite", "aria-label": T.log, tabindex: "0"
  });
  var typing = el("p", { "class": "typing", role: "status" });
  // While a case with an official is open: what the citizen types goes to the official.
  var handoffBar = el("div", { "class": "handoff", role: "status" });
  var ender = el("button", { type: "button", "class": "choice" }, T.end);
  handoffBar.append(el("span", {}, T.handoff), ender);
  handoffBar.hidden = true;
  var form = el("form", { "class": "form" });
  var label = el("label", { "for": "tldvc-input", "class": "sr-only" }, T.label);
  var input = el("input", {
    id: "tldvc-input", type: "text", autocomplete: "off", maxlength: String(MAX_CHARS),
    placeholder: T.placeholder
  });
  var send = el("button", { type: "submit", "class": "send" }, T.send);
  form.append(label, input, send);
  panel.append(head, log, typing, handoffBar, form);
  root.append(panel, bubble);
  document.body.appendChild(host);

  function icon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
    svg.appendChild(path);
    return svg;
  }

  // Answer text as text nodes; web addresses (http/https only) become links, built with the DOM
  // API from the matched text: nothing in an answer is ever parsed as HTML.
  var URL_RE = /https?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]]/g;
  function textNode(text) {
    var p = el("p", { "class": "text" });
    var last = 0, match;
    URL_RE.lastIndex = 0;
    while ((match = URL_RE.exec(text)) !== null) {
      p.appendChild(document.createTextNode(text.slice(last, match.index)));
      p.appendChild(el("a", { href: match[0], target: "_blank", rel: "noopener noreferrer" }, match[0]));
      last = match.index + match[0].length;
    }
    p.appendChild(document.createTextNode(text.slice(last)));
    return p;
  }

  function renderEntry(entry) {
    var who = entry.from === "user" ? "user" : entry.from === "official" ? "bot official" : "bot";
    var item = el("div", { "class": "msg " + who +
      (entry.error ? " error" : "") + (entry.welcome ? " welcome" : "") });
    var name = entry.from === "user" ? T.you : entry.from === "official" ? T.official : T.bot;
    item.appendChild(el("span", { "class": "sr-only" }, name + ": "));
    if (entry.text) item.appendChild(textNode(entry.text));
    if (entry.note) item.appendChild(el("span", { "class": "note" }, entry.note));
    if (entry.buttons && entry.buttons.length) {
      var group = el("div", { "class": "buttons" });
      entry.buttons.forEach(function (b) {
        var button = el("button", { type: "button", "class": "choice" }, b.title);
        button.addEventListener("click", function () { ask(b.payload, b.title); });
        group.appendChild(button);
      });
      item.appendChild(group);
    }
    log.appendChild(item);
    return item;
  }

  function renderAll() {
    log.textContent = "";
    if (!state.messages.length) renderEntry({ from: "bot", text: T.welcome, welcome: true });
    state.messages.forEach(renderEntry);
    log.scrollTop = log.scrollHeight;
  }

  function add(entry) {
    if (!state.messages.length) log.textContent = ""; // the welcome gives way
    state.messages.push(entry);
    save();
    var node = renderEntry(entry);
    log.scrollTop = log.scrollHeight;
    return node;
  }

  // A long answer with many buttons: show it from its question down, not from its end.
  function showFrom(node) {
    log.scrollTop = Math.max(0, node.offsetTop - log.offsetTop - 8);
  }

  var busy = false;
  function setBusy(value) {
    busy = value;
    typing.textContent = value ? T.typing : "";
    send.disabled = value;
    panel.setAttribute("aria-busy", value ? "true" : "false");
  }

  function setHandoff(value) {
    state.handoff = !!value;
    save();
    handoffBar.hidden = !state.handoff;
  }

  // The server's word on what to expect: an open case, and how soon to ask the inbox again.
  function expect(data) {
    if (typeof data.handoff === "boolean") setHandoff(data.handoff);
    if (typeof data.poll === "number") schedule(data.poll);
  }

  var timer = null, polling = false, wanted = 0;
  function schedule(seconds) {
    wanted = seconds > 0 ? seconds : 0;
    if (timer) { clearTimeout(timer); timer = null; }
    if (wanted) timer = setTimeout(pollInbox, wanted * 1000);
  }

  var SESSION_HEADER = "X-Widget-Session";
  function headers() {
    var h = { "Content-Type": "application/json" };
    if (state.session) h[SESSION_HEADER] = state.session;
    return h;
  }
  function remember(response) {
    var token = response.headers.get(SESSION_HEADER);
    if (token && token !== state.session) { state.session = token; save(); }
  }

  function pollInbox() {
    timer = null;
    if (polling) return;
    if (document.hidden && wanted) { schedule(wanted); return; } // asked again when shown
    polling = true;
    var received = 0;
    fetch(INBOX, {
      method: "POST",
      credentials: "same-origin",
      headers: headers(),
      body: JSON.stringify({ after: state.inbox })
    }).then(function (response) {
      return response.ok ? response.json() : {};
    }).then(function (data) {
      (Array.isArray(data.messages) ? data.messages : []).forEach(function (m) {
        if (!(m.id > state.inbox)) return; // shown already
        state.inbox = m.id;
        received += 1;
        add({ from: m.from === "official" ? "official" : "bot", text: String(m.text || ""),
              buttons: m.buttons || [] });
      });
      if (received && panel.hidden) setUnread(true);
      polling = false;
      expect(data);
      // Acknowledge what was just shown even when nothing more is expected.
      if (received && !wanted) schedule(1);
    }).catch(function () {
      polling = false;
      schedule(wanted || 0);
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && wanted) schedule(0.1);
  });

  function ask(message, shown) {
    message = (message || "").trim();
    if (!message || busy) return;
    var entry = { from: "user", text: (shown || message).slice(0, MAX_CHARS) };
    var question = add(entry);
    setBusy(true);
    fetch(API, {
      method: "POST",
      credentials: "same-origin",
      headers: headers(),
      body: JSON.stringify({ message: message })
    }).then(function (response) {
      remember(response);
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok && Array.isArray(data.messages)) {
          if (data.relayed) { // the official's, not the assistant's: no answer now
            entry.note = T.relayed;
            save();
            question.appendChild(el("span", { "class": "note" }, T.relayed));
          }
          data.messages.forEach(function (m) {
            add({ from: "bot", text: String(m.text || ""), buttons: m.buttons || [] });
          });
          expect(data);
        } else {
          add({ from: "bot", error: true, text: data.error || T.failed });
        }
      });
    }).catch(function () {
      add({ from: "bot", error: true, text: T.failed });
    }).then(function () {
      showFrom(question);
      setBusy(false);
      if (!panel.hidden) input.focus();
    });
  }

  function setUnread(value) {
    bubble.classList.toggle("unread", value);
    bubble.setAttribute("aria-label", T.open + (value ? T.unread : ""));
  }

  function setOpen(open, focus) {
    if (open) setUnread(false);
    state.open = open;
    save();
    panel.hidden = !open;
    bubble.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      log.scrollTop = log.scrollHeight;
      if (focus) input.focus();
    } else if (focus) {
      bubble.focus();
    }
  }

  bubble.addEventListener("click", function () { setOpen(panel.hidden, true); });
  closer.addEventListener("click", function () { setOpen(false, true); });
  ender.addEventListener("click", function () { ask(T.endPayload, T.end); });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); setOpen(false, true); }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim() || busy) return;
    input.value = "";
    ask(text);
  });

  renderAll();
  setOpen(state.open, false);
  setHandoff(state.handoff);
  pollInbox(); // what arrived while the page was away (an answer, a dossier's news)
})();
