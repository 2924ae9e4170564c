/* Trợ lý Dịch vụ công: the chat widget. One tag puts it on a page:
 *   <script src="https://…/static/widget.js" defer></script>
 * It talks only to the web app that served it (POST /api/chat, same origin: the session cookie
 * carries the conversation id); Rasa and its token stay behind that app. Nothing is loaded from
 * elsewhere. Bot text is shown with textContent (never as HTML); line breaks are kept by CSS.
 * The conversation is kept in sessionStorage: it survives reloads, and ends with the browser
 * session like the cookie (a shared computer at the commune office keeps nothing). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || document.getElementById("trolydvc-widget")) return;
  var API = new URL("/api/chat", script.src).href;
  var CSS = new URL("widget.css", script.src).href;
  var STORE = "trolydvc-chat-v1";
  var MAX_KEPT = 100; // entries of history kept
  var MAX_CHARS = 2000; // as the server (and Rasa's REST channel)
  var T = {
    title: "Trợ lý Dịch vụ công",
    open: "Mở trò chuyện với Trợ lý Dịch vụ công",
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
    bot: "Trợ lý"
  };

  function load() {
    try {
      var data = JSON.parse(sessionStorage.getItem(STORE) || "{}");
      return { open: !!data.open, messages: Array.isArray(data.messages) ? data.messages : [] };
    } catch (e) {
      return { open: false, messages: [] };
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
  var form = el("form", { "class": "form" });
  var label = el("label", { "for": "tldvc-input", "class": "sr-only" }, T.label);
  var input = el("input", {
    id: "tldvc-input", type: "text", autocomplete: "off", maxlength: String(MAX_CHARS),
    placeholder: T.placeholder
  });
  var send = el("button", { type: "submit", "class": "send" }, T.send);
  form.append(label, input, send);
  panel.append(head, log, typing, form);
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
    var item = el("div", { "class": "msg " + (entry.from === "user" ? "user" : "bot") +
      (entry.error ? " error" : "") + (entry.welcome ? " welcome" : "") });
    item.appendChild(el("span", { "class": "sr-only" }, (entry.from === "user" ? T.you : T.bot) + ": "));
    if (entry.text) item.appendChild(textNode(entry.text));
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

  function ask(message, shown) {
    message = (message || "").trim();
    if (!message || busy) return;
    var question = add({ from: "user", text: (shown || message).slice(0, MAX_CHARS) });
    setBusy(true);
    fetch(API, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ message: message })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok && Array.isArray(data.messages)) {
          data.messages.forEach(function (m) {
            add({ from: "bot", text: String(m.text || ""), buttons: m.buttons || [] });
          });
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

  function setOpen(open, focus) {
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
})();
