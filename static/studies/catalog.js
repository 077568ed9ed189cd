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

  // The study list's filters apply as they change: fetch the list the form now names and
  // swap in its heading, notices, facet counts and results, keeping the address bar in
  // step (back and forward restore each state) and focus where it was.
  var LIVE_IDS = [
    "list-heading", "list-notices", "drawer-summary", "facet-condition", "facet-design",
    "facet-level", "facet-decade", "facet-status", "facet-dose_band"
  ];

  // The list an address names, whatever its page: a filter's change starts at page 1.
  function listOf(href) {
    var url = new URL(href, window.location.href);
    var params = new URLSearchParams(url.search);
    params.delete("page");
    return url.pathname + "?" + params.toString();
  }

  // An update that empties the list knows the list the reader asked for before it: if that
  // one had studies, the chip that leads back there removes the filter that emptied the
  // list, and the advice names that one rather than the last listed (all the server can
  // offer, not knowing the reader's steps). Says whether it did.
  function adviseJustAdded(results, before) {
    var advice = document.getElementById("empty-advice");
    var words = document.getElementById("empty-advice-just-added");
    var chip = Array.prototype.find.call(results.querySelectorAll("a.chip"), function (link) {
      return listOf(link.href) === listOf(before);
    });
    if (!advice || !words || !chip) {
      return false;
    }
    var fresh = words.content.cloneNode(true);
    var link = fresh.querySelector("a");
    link.setAttribute("href", chip.getAttribute("href"));
    link.appendChild(chip.querySelector("bdi").cloneNode(true));
    advice.replaceChildren(fresh);
    return true;
  }

  function enableLiveList(form, results) {
    var liveCount = document.getElementById("live-count");
    var latest = 0;
    var shown = window.location.href.split("#")[0];  // the list shown
    var wanted = shown;  // the list shown, or on its way
    var retry = null;  // what "Try again" does: the failed update again
    // Whether each list met had studies, the shown ones and those a later change overtook
    // (the list before a change may never have been shown, when the reader changed two
    // filters in quick succession); and the list whose answer the advice waits for.
    var studied = {};
    studied[listOf(shown)] = !results.querySelector("p.empty");
    var adviceAwaits = null;

    // Each entry of the list's history knows its place, so that an update that fails after
    // back or forward can return to the entry of the list still shown, and "Try again" can
    // make the same move again (popstate says where the browser went, not how far).
    var here = history.state && history.state.position || 0;  // the address bar's entry
    var shownAt = here;  // the entry of the list shown
    var address = window.location.href;  // here's
    history.replaceState({ position: here }, "");

    // The list's address names its parameters in a fixed order (the form's data-parameters):
    // in the form's order it would be redirected there, a second request for every change.
    var order = (form.getAttribute("data-parameters") || "").split(" ");

    function formUrl() {
      var pairs = [];
      new FormData(form).forEach(function (value, key) {
        if (value !== "") { pairs.push([key, value]); }
      });
      pairs.sort(function (a, b) { return order.indexOf(a[0]) - order.indexOf(b[0]); });
      var query = new URLSearchParams(pairs).toString();
      return form.action.split("?")[0] + (query ? "?" + query : "");
    }

    function syncControls(doc, keepTyping) {
      form.querySelectorAll("input[id], select[id]").forEach(function (control) {
        var fresh = doc.getElementById(control.id);
        // A box the reader is typing in (search, years, size) keeps what they typed, unless
        // back or forward asks for another state of the list.
        var typing = control === document.activeElement && control.tagName === "INPUT"
          && control.type !== "checkbox" && control.type !== "radio";
        // "Include studies without a year" changes nothing, and the address leaves it out,
        // until there is a year range: ticked first, it waits for the range.
        var waiting = control.name === "undated" && control.checked
          && !doc.getElementById("id_year_min").value && !doc.getElementById("id_year_max").value;
        if (!fresh || (typing || waiting) && keepTyping) {
          return;
        }
        if (control.type === "checkbox" || control.type === "radio") {
          control.checked = fresh.checked;
        } else if (control.tagName === "SELECT") {
          control.innerHTML = fresh.innerHTML;
          control.value = fresh.value;
        } else {
          control.value = fresh.value;
        }
      });
    }

    // Heard: the new count, and for an empty list what to remove.
    function announce() {
      var heard = [document.getElementById("list-heading"), results.querySelector("p.empty")];
      if (liveCount) {
        liveCount.textContent = heard.filter(Boolean).map(function (element) {
          return element.textContent.replace(/\s+/g, " ").trim();
        }).join(". ");
      }
    }

    function show(doc, url, push, focusResults, before) {
      var focused = document.activeElement;
      LIVE_IDS.forEach(function (id) {
        var current = document.getElementById(id);
        var fresh = doc.getElementById(id);
        if (current && fresh) { current.replaceWith(document.importNode(fresh, true)); }
      });
      var freshResults = doc.querySelector("[data-partial='results']");
      if (freshResults) { results.innerHTML = freshResults.innerHTML; }
      adviceAwaits = null;
      if (studied[listOf(before)]) {
        adviseJustAdded(results, before);
      } else if (!(listOf(before) in studied) && results.querySelector("p.empty")) {
        adviceAwaits = listOf(before);  // its answer is still on its way
      }
      syncControls(doc, push);
      document.title = doc.title;
      // A phone's "Share" takes the canonical address, a feed reader the feed's.
      ["link[rel='canonical']", "link[rel='alternate']"].forEach(function (selector) {
        var current = document.head.querySelector(selector);
        var fresh = doc.head.querySelector(selector);
        if (current && fresh) { current.setAttribute("href", fresh.getAttribute("href")); }
      });
      // A change that leaves the list as it was ("Show studies" again) adds no entry.
      if (push && url !== window.location.href.split("#")[0]) {
        here += 1;
        history.pushState({ position: here }, "", url);
        address = window.location.href;
      }
      shownAt = here;
      enableCopyButtons(results);
      announce();
      if (focused && focused !== document.body && !document.contains(focused)) {
        // Replaced: focus its successor, or the results if it is gone (a removed chip).
        var again = focused.id && document.getElementById(focused.id);
        if (again) { again.focus(); } else { focusResults = true; }
      }
      if (focusResults) { document.getElementById("results").focus(); }
    }

    // The connection failed, or the server could not answer (5xx, 429): the page keeps the
    // list it shows, with its address, and the form keeps the reader's choices; a notice
    // offers to try again, or to load the list asked for as a page of its own.
    function showFailure(url, push) {
      wanted = shown;
      results.removeAttribute("aria-busy");
      // Back or forward has already moved the address: the browser returns to the entry of
      // the list shown, every entry left as it was, and trying again makes the same move,
      // from there (moves are made in turn: pressed at once, it follows the return).
      var moved = here - shownAt;
      var asked = here;
      if (moved) { history.go(-moved); }
      retry = push || !moved ? function () { load(url, push, false); } : function () {
        history.go(asked - shownAt);
      };
      var notice = document.getElementById("update-failed");
      notice.querySelector("a").setAttribute("href", url);
      notice.hidden = false;
      // The notice is kept at the foot of the window: what the reader just used, if it is
      // under it now, moves up into view (the page leaves room for that), keeping the focus.
      if (document.activeElement && document.activeElement !== document.body) {
        document.activeElement.scrollIntoView({ block: "nearest" });
      }
      if (liveCount) { liveCount.textContent = notice.textContent.replace(/\s+/g, " ").trim(); }
    }

    function load(url, push, focusResults) {
      var ticket = ++latest;
      var before = wanted;
      wanted = url;
      results.setAttribute("aria-busy", "true");
      // Emptied while on its way: the same words again (a failed retry) are heard again.
      if (liveCount) { liveCount.textContent = ""; }
      fetch(url, { headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok) { throw new Error(response.statusText); }
          return response.text().then(function (html) { return [html, response.url]; });
        })
        .then(function (pair) {
          var doc = new DOMParser().parseFromString(pair[0], "text/html");
          var list = listOf(pair[1]);
          studied[list] = !doc.querySelector("[data-partial='results'] p.empty");
          if (ticket !== latest) {
            // A later change is on its way, or shown: this list is not, but whether it had
            // studies may be what the advice of the list shown awaits.
            if (list === adviceAwaits && studied[list] && adviseJustAdded(results, pair[1])) {
              adviceAwaits = null;
              announce();
            }
            return;
          }
          wanted = shown = pair[1];
          results.removeAttribute("aria-busy");
          show(doc, pair[1], push, focusResults, before);
        }, function () {
          if (ticket === latest) { showFailure(url, push); }
        });
    }

    function loadForm() {
      var url = formUrl();
      // Enter in a box changes it and submits the form: the second asks for the same list.
      if (url !== wanted) { load(url, true, false); }
    }

    form.addEventListener("change", function (event) {
      if (event.target.name) { loadForm(); }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      loadForm();
    });
    // Links that name another state of this list: chips, "Clear all", decades, "Include
    // them", suggestions, page turns.
    document.querySelector(".list-layout").addEventListener("click", function (event) {
      var failure = event.target.closest("#update-failed");
      if (failure && event.target.closest("button")) {
        retry();
      }
      if (failure) {
        return;  // its link loads the list as a page of its own
      }
      var link = event.target.closest("a[href]");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
        return;
      }
      var target = new URL(link.href, window.location.href);
      if (target.origin !== window.location.origin || target.pathname !== window.location.pathname
          || link.closest(".study-row") || link.hash) {
        return;
      }
      event.preventDefault();
      load(target.href, true, Boolean(link.closest(".pagination")));
    });
    // Back or forward: fetch the list the address names, unless it is shown or on its way
    // (following "Skip to results" is a move in the history too, to the same list).
    window.addEventListener("popstate", function (event) {
      var url = window.location.href.split("#")[0];
      if (event.state && typeof event.state.position === "number") {
        here = event.state.position;
      } else {
        // An entry without a place is one "Skip to results" has just made, after this
        // one, or put in place of this one when the address already named it.
        if (window.location.href !== address) { here += 1; }
        history.replaceState({ position: here }, "");
      }
      address = window.location.href;
      if (url === shown && url === wanted) {
        shownAt = here;
      } else if (url !== wanted) {
        load(url, false, false);
      }
    });
  }

  enableCopyButtons(document);
  var listForm = document.getElementById("filters");
  var results = document.querySelector("[data-partial='results']");
  if (listForm && results && window.fetch && window.history.pushState && window.DOMParser) {
    enableLiveList(listForm, results);
  }
})();
