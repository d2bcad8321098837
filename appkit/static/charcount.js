// Progressive enhancement only: a live character count for text with a limit.
// Every such field states its limit in its hint, and the server refuses longer
// text with a message (it never cuts it); this script only shows, as the person
// types, how many characters are left or how many too many. A field opts in with
// data-maxchars="N" and data-count="<id of its count element>".
(function () {
  "use strict";
  // Count as the server does: code points, a line break as one character.
  function length(value) { return Array.from(value.replace(/\r\n/g, "\n")).length; }
  function characters(n) { return n.toLocaleString("en-GB") + (n === 1 ? " character" : " characters"); }
  function message(used, limit) {
    return used > limit
      ? "You have " + characters(used - limit) + " too many"
      : "You have " + characters(limit - used) + " remaining";
  }
  function setUp(field) {
    var limit = parseInt(field.getAttribute("data-maxchars"), 10);
    var shown = document.getElementById(field.getAttribute("data-count") || "");
    if (!shown || !(limit > 0)) { return; }
    // The visible count changes on every key; screen readers hear it after a pause.
    var spoken = document.createElement("p");
    spoken.className = "visually-hidden";
    spoken.setAttribute("aria-live", "polite");
    shown.parentNode.insertBefore(spoken, shown.nextSibling);
    shown.setAttribute("aria-hidden", "true");
    shown.hidden = false;
    var timer = null;
    function update(announce) {
      var used = length(field.value);
      var text = message(used, limit);
      shown.textContent = text;
      shown.classList.toggle("over-limit", used > limit);
      if (announce) {
        clearTimeout(timer);
        timer = setTimeout(function () { spoken.textContent = text; }, 1000);
      }
    }
    field.addEventListener("input", function () { update(true); });
    update(false);
  }
  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-maxchars]"), setUp);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
