// Accessible names for the admin's autocomplete boxes (select2), which build their own
// markup without them: each combobox and search box is named after its field's label,
// and the multiple select's "remove all" cross is moved out of the list of choices (a
// list may hold only list items). Loaded by the curators' change forms; no inline script.
(function () {
  "use strict";

  function labelOf(select) {
    var named = select.getAttribute("aria-label");
    if (named) {
      return named;
    }
    var label = select.id && document.querySelector('label[for="' + select.id + '"]');
    return label ? label.textContent.replace(/:\s*$/, "").trim() : select.name;
  }

  function keepClearOutOfList(list) {
    list.querySelectorAll(":scope > .select2-selection__clear").forEach(function (clear) {
      list.parentNode.insertBefore(clear, list);
    });
  }

  function nameBoxes(root) {
    root.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      var container = select.nextElementSibling;
      if (!container || !container.classList.contains("select2")) {
        return;  // not built yet (an empty inline row's template)
      }
      var name = labelOf(select);
      var box = container.querySelector(".select2-selection");
      if (box) {
        box.removeAttribute("aria-labelledby");
        box.setAttribute("aria-label", name);
      }
      container.querySelectorAll(".select2-search__field").forEach(function (field) {
        field.setAttribute("aria-label", "Search " + name.toLowerCase());
      });
      var list = container.querySelector(".select2-selection--multiple > ul");
      if (list && !list.dataset.clearWatched) {
        list.dataset.clearWatched = "true";
        keepClearOutOfList(list);
        new MutationObserver(function () { keepClearOutOfList(list); }).observe(list, {
          childList: true,
        });
      }
    });
    // The search box of an open dropdown.
    document.querySelectorAll(".select2-dropdown .select2-search__field").forEach(function (field) {
      field.setAttribute("aria-label", "Search");
    });
  }

  // select2 builds its boxes when jQuery is ready, and again for each inline row added:
  // name whatever it has built, whenever the page's elements change.
  var pending = false;
  function soon() {
    if (!pending) {
      pending = true;
      window.setTimeout(function () { pending = false; nameBoxes(document); }, 0);
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    nameBoxes(document);
    new MutationObserver(soon).observe(document.body, { childList: true, subtree: true });
  });
  document.addEventListener("focusin", function (event) {
    if (event.target.classList && event.target.classList.contains("select2-search__field")) {
      if (!event.target.hasAttribute("aria-label")) {
        event.target.setAttribute("aria-label", "Search");
      }
    }
  });
})();
