// An import job's page while the job waits or runs: every few seconds it fetches the page
// again and updates the job's state in place (a live region, so screen readers hear it),
// leaving the focus where it is. When the preview or the outcome is ready, it replaces the
// page's content and, if the focus was in what was replaced, moves it to the summary.
// Without this script the page reloads itself (a <meta> refresh in <noscript>).
(function () {
  "use strict";

  var main = document.getElementById("content-main");
  var seconds = main && Number(main.getAttribute("data-refresh"));
  if (!seconds) {
    return;
  }

  function textOf(element) {
    return element ? element.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function update(doc) {
    var fresh = doc.getElementById("content-main");
    var freshState = doc.getElementById("import-state");
    if (!fresh || !freshState) {
      // Not the job's page: the login page (the session ended) or an error page.
      window.location.reload();
      return;
    }
    var state = document.getElementById("import-state");
    if (textOf(state) !== textOf(freshState)) {
      state.innerHTML = freshState.innerHTML;
    }
    if (fresh.hasAttribute("data-refresh")) {
      window.setTimeout(poll, seconds * 1000);
      return;
    }
    // The preview or the outcome: everything but the live region is replaced.
    main.removeAttribute("data-refresh");
    freshState.remove();
    Array.prototype.slice.call(main.children).forEach(function (child) {
      if (child !== state) {
        child.remove();
      }
    });
    main.append.apply(main, Array.prototype.map.call(fresh.childNodes, function (node) {
      return document.importNode(node, true);
    }));
    document.title = doc.title;
    if (!document.activeElement || document.activeElement === document.body) {
      var summary = document.getElementById("import-summary") || state;
      summary.tabIndex = -1;
      summary.focus();
    }
  }

  function poll() {
    fetch(window.location.href, { headers: { "Accept": "text/html" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.statusText);
        }
        return response.text();
      })
      .then(function (html) {
        update(new DOMParser().parseFromString(html, "text/html"));
      }, function () {
        window.setTimeout(poll, seconds * 1000);  // the connection failed: try again
      });
  }

  window.setTimeout(poll, seconds * 1000);
})();
