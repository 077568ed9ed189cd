// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // "Copy link" buttons are hidden in the HTML and shown when the browser can copy.
  function enableCopyButtons(root) {
    if (!navigator.clipboard || !window.isSecureContext) {
      return;
    }
    root.querySelectorAll("button.copy-link").forEach(function (button) {
      var status = button.parentElement.querySelector(".copy-status");
      button.hidden = false;
      button.addEventListener("click", function () {
        var url = button.getAttribute("data-copy-url") || window.location.href;
        navigator.clipboard.writeText(url).then(
          function () { if (status) { status.textContent = "Link copied."; } },
          function () { if (status) { status.textContent = "Could not copy: copy the address bar instead."; } }
        );
      });
    });
  }

  // Turning a page of the study list changes only the results, not the filters and their
  // counts: fetch the results partial and swap it in, keeping the address bar in step.
  function enablePartialPaging(container) {
    var shown = window.location.search;
    container.addEventListener("click", function (event) {
      var link = event.target.closest(".pagination a");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey) {
        return;
      }
      event.preventDefault();
      fetch(link.href, { headers: { "X-Partial": "results" } })
        .then(function (response) {
          if (!response.ok) { throw new Error(response.statusText); }
          return response.text();
        })
        .then(function (html) {
          container.innerHTML = html;
          history.pushState(null, "", link.href);
          shown = window.location.search;
          enableCopyButtons(container);
          var heading = document.getElementById("list-heading");
          heading.setAttribute("tabindex", "-1");
          heading.focus();
        })
        .catch(function () { window.location.href = link.href; });
    });
    // Back and forward: show the list the address bar now names (a #fragment jump is not one).
    window.addEventListener("popstate", function () {
      if (window.location.search !== shown) { window.location.reload(); }
    });
  }

  enableCopyButtons(document);
  var results = document.querySelector("[data-partial='results']");
  if (results && window.fetch && window.history.pushState) {
    enablePartialPaging(results);
  }
})();
