// The import page's paste box: text over the limit the server sets on a form's fields
// (DATA_UPLOAD_MAX_MEMORY_SIZE, on the box as data-max-bytes) is refused here, before it
// is sent, and kept in the box, with the advice to upload it as a file. The box has no
// maxlength, at which browsers cut a paste without a word. Without this script the server
// refuses the whole form with a page saying the same (ldn_catalog/errors.py).
(function () {
  "use strict";

  var box = document.getElementById("id_text");
  var limit = box && Number(box.getAttribute("data-max-bytes"));
  if (!limit || !box.form) {
    return;
  }
  var form = box.form;
  var encoder = new TextEncoder();

  // What a field weighs as Django counts it: its value in UTF-8 as the browser sends it,
  // each line break as CRLF.
  function weight(value) {
    return encoder.encode(value.replace(/\r\n|\r|\n/g, "\r\n")).length;
  }

  // The room the form's other fields leave the box: Django counts each field's name, its
  // value and 2 bytes, and not a file, but a file input left empty (sent with no file
  // name) is a field to it, with an empty value (django/http/multipartparser.py). Not
  // FormData, which takes seconds to copy a few megabytes of text.
  function room() {
    var others = 0;
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.disabled || field === box) {
        return;
      }
      var values = [field.value];
      if (field.type === "file") {
        values = field.files.length ? [] : [""];
      } else if (field.type === "checkbox" || field.type === "radio") {
        values = field.checked ? values : [];
      } else if (field.tagName === "SELECT") {
        values = Array.prototype.map.call(field.selectedOptions, function (option) {
          return option.value;
        });
      }
      values.forEach(function (value) {
        others += weight(field.name) + weight(value) + 2;
      });
    });
    return limit - others - weight(box.name) - 2;
  }

  function size(bytes) {  // as Django's filesizeformat writes it
    if (bytes < 1024) {
      return bytes + " bytes";
    }
    if (bytes < 1024 * 1024) {
      return (bytes / 1024).toFixed(1) + " KB";
    }
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  function count(bytes) {
    return bytes.toLocaleString("en");
  }

  // Where Django puts a field's errors: first in its row, which turns red.
  var row = box.closest(".form-row");
  var alert = document.createElement("div");
  alert.id = "id_text_size";
  alert.setAttribute("role", "alert");
  alert.hidden = true;
  row.insertBefore(alert, row.firstChild);
  var described = box.getAttribute("aria-describedby");

  // Shows or clears the message; true while the text is over the limit.
  function check() {
    var bytes = weight(box.value);
    var most = room();
    var over = bytes > most;
    alert.hidden = !over;
    alert.textContent = "";
    row.classList.toggle("errors", over);
    if (over) {
      var list = document.createElement("ul");
      var item = document.createElement("li");
      list.className = "errorlist";
      item.textContent = (
        "This text is " + count(bytes) + " bytes in UTF-8 (" + size(bytes) + "), and the " +
        "box takes at most " + count(most) + " bytes (" + size(most) + "). Save it as a " +
        "file and upload it with “File” instead. Nothing was sent: your text is still in " +
        "the box."
      );
      list.append(item);
      alert.append(list);
      box.setAttribute("aria-invalid", "true");
      box.setAttribute("aria-describedby", (described ? described + " " : "") + alert.id);
    } else {
      box.removeAttribute("aria-invalid");
      if (described) {
        box.setAttribute("aria-describedby", described);
      } else {
        box.removeAttribute("aria-describedby");
      }
    }
    return over;
  }

  // While typing, counting a few megabytes on every key would lag: once the typing stops.
  var pending = null;
  box.addEventListener("input", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(check, 200);
  });
  form.addEventListener("submit", function (event) {
    window.clearTimeout(pending);
    if (check()) {
      event.preventDefault();
      box.focus();
    }
  });
  check();  // text the browser restored in the box (going back after a refusal)
})();
