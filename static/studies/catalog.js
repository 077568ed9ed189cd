// Progressive enhancement only: every page works without this file.
// "Copy link" buttons are hidden in the HTML and shown when the browser can copy.
(function () {
  "use strict";
  if (!navigator.clipboard || !window.isSecureContext) {
    return;
  }
  document.querySelectorAll("button.copy-link").forEach(function (button) {
    var status = button.parentElement.querySelector(".copy-status");
    button.hidden = false;
    button.addEventListener("click", function () {
      var url = button.getAttribute("data-copy-url") || window.location.href;
      navigator.clipboard.writeText(url).then(
        function () { if (status) { status.textContent = "Link copied."; } },
        function () { if (status) { status.textContent = "Could not copy; copy the address bar instead."; } }
      );
    });
  });
})();
