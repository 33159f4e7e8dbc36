// Familiar: small progressive enhancements only (the app works without script).
// Served from 'self' under a CSP without 'unsafe-inline'.
(function () {
  "use strict";
  // Lets the stylesheet (and the browser test) know the script ran under the CSP.
  document.documentElement.classList.add("js");
  // Ask before a consequential form button is used (data-confirm="question").
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest ? ev.target.closest("[data-confirm]") : null;
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      ev.preventDefault();
    }
  });
  // The login code field accepts digits only.
  var totp = document.getElementById("totp");
  if (totp) {
    totp.addEventListener("input", function () {
      totp.value = totp.value.replace(/[^0-9]/g, "").slice(0, 6);
    });
  }
})();
