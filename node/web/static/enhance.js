// Progressive enhancement only: every flow works without this file.
// Move focus to an error summary so keyboard and screen-reader users hear it first.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-testid='error-summary']");
  if (summary) { summary.focus(); }
});
