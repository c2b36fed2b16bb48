/* The assistant page: each question opens the REST API's event stream (the session's cookie signs the request;
   EventSource sends it), the reply's text grows with each "delta" event and the final "reply" event brings its
   citations, shown beside the conversation. The conversation's earlier questions go with each question, so a
   follow-up ("and in blue?") is read with the question before it. Text from the shop and from the customer is only
   ever set as text (textContent), never as HTML. */
(function () {
  "use strict";

  var chat = document.querySelector("[data-testid=chat]");
  if (!chat) { return; }
  var api = chat.dataset.api;
  var form = document.querySelector("[data-testid=chat-form]");
  var input = document.getElementById("chat-q");
  var messages = document.querySelector("[data-testid=chat-messages]");
  var error = document.querySelector("[data-testid=chat-error]");
  var evidence = document.querySelector("[data-testid=evidence]");
  var summary = document.querySelector("[data-testid=evidence-summary]");
  var handoff = document.querySelector("[data-testid=chat-handoff]");
  var asked = [];  // the conversation's questions, oldest first
  var answered = 0;  // replies completed so far, on the chat as data-answered (tests wait for the next one)

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }

  function quoteWithMarks(item) {
    var block = el("div");
    var text = item.text;
    var quoted = (item.quoted || []).filter(function (q) { return q && text.indexOf(q) >= 0; });
    if (!quoted.length) { block.textContent = text; return block; }
    var at = 0;
    quoted.forEach(function (q) {
      var start = text.indexOf(q, at);
      if (start < 0) { return; }
      block.appendChild(document.createTextNode(text.slice(at, start)));
      block.appendChild(el("mark", q));
      at = start + q.length;
    });
    block.appendChild(document.createTextNode(text.slice(at)));
    return block;
  }

  function showEvidence(reply) {
    evidence.textContent = "";
    var cites = reply.citations || [];
    summary.textContent = cites.length ? cites.length + " passage" + (cites.length === 1 ? "" : "s") +
      " for “" + reply.question + "”" + (reply.confidence === null || reply.confidence === undefined ? ""
        : " (confidence " + Number(reply.confidence).toFixed(2) + ")")
      : "No evidence: this reply is " + (reply.kind === "order" ? "an order look-up." : "not an answer from the shop's information.");
    cites.forEach(function (item) {
      var row = el("li");
      row.dataset.evidence = item.evidence_id;
      row.appendChild(el("div", item.evidence_id + " · " + item.kind + " · score " + Number(item.score).toFixed(3),
                         "cite"));
      row.appendChild(quoteWithMarks(item));
      evidence.appendChild(row);
    });
  }

  function finish(bubble, reply) {
    bubble.textContent = reply.text;
    bubble.dataset.kind = reply.kind;
    var meta = [reply.kind, reply.intent ? "intent " + reply.intent + " (" +
                Number(reply.intent_confidence).toFixed(2) + ")" : "", reply.verdict ? "verdict " + reply.verdict : "",
                reply.handoff ? "handed to a person" : ""].filter(Boolean).join(" · ");
    bubble.appendChild(el("div", meta, "meta"));
    showEvidence(reply);
    chat.dataset.state = reply.handoff ? "handoff" : "answered";
    chat.dataset.answered = String(++answered);
  }

  function fail(bubble, message) {
    bubble.remove();
    error.textContent = message;
    error.hidden = false;
    chat.dataset.state = "error";
    chat.dataset.answered = String(++answered);
  }

  function ask(question) {
    question = question.trim();
    if (!question) { return; }
    error.hidden = true;
    var params = new URLSearchParams();
    params.set("question", question);
    if (asked.length) { params.set("history", JSON.stringify(asked.slice(-5))); }
    if (chat.dataset.product) { params.set("product_id", chat.dataset.product); }
    messages.appendChild(el("li", question, "customer"));
    var bubble = el("li", "", "assistant");
    messages.appendChild(bubble);
    chat.dataset.state = "asking";
    var source = new EventSource(api + "?" + params.toString());
    var done = false;
    source.addEventListener("delta", function (event) { bubble.textContent += JSON.parse(event.data).text; });
    source.addEventListener("reply", function (event) {
      done = true;
      source.close();
      asked.push(question);
      finish(bubble, JSON.parse(event.data));
    });
    source.onerror = function () {
      source.close();
      if (done) { return; }
      // EventSource hides the status: ask once more as a plain request to show the service's own message
      fetch(api + "?" + params.toString(), { credentials: "same-origin" }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          var detail = Array.isArray(body.detail) ? body.detail.map(function (d) { return d.msg; }).join("; ")
            : (body.detail || response.statusText);
          fail(bubble, "The assistant could not answer (" + response.status + "): " + detail);
        });
      }).catch(function (problem) { fail(bubble, "The assistant could not answer: " + problem); });
    };
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value;
    input.value = "";
    ask(question);
  });
  handoff.addEventListener("click", function () { ask(chat.dataset.handoff); });
  window.shoplensAssistant = { ask: ask, asked: asked };  // for people at the console and the browser tests
}());
