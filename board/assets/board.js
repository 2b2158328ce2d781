// igniter-store board: the live tail of events. Served by the board itself;
// the other pages need no script. Text goes into the page with textContent
// only, never as HTML.
(function () {
  "use strict";
  var body = document.getElementById("tail");
  var status = document.getElementById("tail-status");
  if (!body || !status) return;
  if (!window.EventSource) {
    status.textContent = "This browser has no EventSource: the live tail cannot run.";
    return;
  }
  var MAX_ROWS = 200;
  var source = new EventSource(body.getAttribute("data-src"));
  function cell(row, text, tag) {
    var td = document.createElement("td");
    if (tag) {
      var inner = document.createElement(tag);
      inner.textContent = text;
      td.appendChild(inner);
    } else {
      td.textContent = text;
    }
    row.appendChild(td);
    return td;
  }
  source.addEventListener("open", function () {
    status.textContent = "Live: waiting for events.";
    status.className = "status live";
  });
  source.addEventListener("error", function () {
    status.textContent = "Disconnected; reconnecting…";
    status.className = "status";
  });
  source.addEventListener("board-event", function (message) {
    var event;
    try {
      event = JSON.parse(message.data);
    } catch (e) {
      return;
    }
    var row = document.createElement("tr");
    cell(row, new Date().toLocaleTimeString());
    cell(row, event.timestamp || "");
    cell(row, event.channel || "", "code");
    if (event.error) {
      row.className = "error";
      cell(row, "error: " + event.error);
    } else {
      var td = cell(row, event.payload, "pre");
      td.firstChild.className = "payload";
      if (event.truncated) {
        var note = document.createElement("span");
        note.className = "truncated";
        note.textContent = "truncated";
        td.appendChild(note);
      }
    }
    body.insertBefore(row, body.firstChild);
    while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
    status.textContent = "Live.";
    status.className = "status live";
  });
})();
