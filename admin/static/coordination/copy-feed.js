// "Copy my feed URL": the address goes to the clipboard; the field is selected too, so
// that Ctrl+C works where the clipboard API is refused.
(function () {
  "use strict";
  function say(button, text) {
    var card = button.closest(".card-body");
    var status = card && card.querySelector(".copy-status");
    if (status) { status.textContent = text; }
  }
  document.querySelectorAll(".copy-feed-url").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.querySelector(button.getAttribute("data-copy-target"));
      if (!field) { return; }
      field.focus();
      field.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(
          function () { say(button, "Copied."); },
          function () { say(button, "Press Ctrl+C (⌘C) to copy the selected address."); }
        );
      } else {
        say(button, document.execCommand && document.execCommand("copy")
          ? "Copied." : "Press Ctrl+C (⌘C) to copy the selected address.");
      }
    });
  });
})();
