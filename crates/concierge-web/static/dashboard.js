// Concierge dashboard: small progressive enhancement, no dependencies.
// Every page works without it. Served from /static/dashboard.js under the
// dashboard's CSP (script-src 'self'): no inline code, no eval.
(function () {
  "use strict";

  // Hub entries under the reply composer: an "Insert" button on each that
  // appends the entry's text to the reply.
  var reply = document.getElementById("reply-text");
  if (reply) {
    var entries = document.querySelectorAll("[data-hub-entry]");
    Array.prototype.forEach.call(entries, function (entry) {
      var source = entry.querySelector(".hub-text");
      if (!source) {
        return;
      }
      var name = entry.getAttribute("data-hub-name") || "this entry";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "hub-insert";
      button.textContent = "Insert";
      button.setAttribute("aria-label", "Insert " + name + " into the reply");
      button.addEventListener("click", function () {
        var text = source.textContent.replace(/^\s+|\s+$/g, "");
        var current = reply.value;
        if (current && !/\n\s*$/.test(current)) {
          current += "\n\n";
        } else if (current && !/\n\n\s*$/.test(current)) {
          current += "\n";
        }
        reply.value = current + text + "\n";
        reply.focus();
        var end = reply.value.length;
        reply.setSelectionRange(end, end);
      });
      entry.appendChild(button);
    });
  }
})();
