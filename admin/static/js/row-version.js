/* After an inline (x-editable) save, the row has a new version: give every editable
   cell of that row the new key ("id~version") the server sent back, so the next inline
   edit of the same row is not mistaken for a stale one. */
(function ($) {
  "use strict";
  if (!$) {
    return;
  }
  $(document).ajaxComplete(function (event, xhr, settings) {
    var key = xhr.getResponseHeader("X-Row-Key");
    if (!key || typeof settings.data !== "string") {
      return;
    }
    var old = new URLSearchParams(settings.data).get("list_form_pk");
    if (!old) {
      return;
    }
    $("[data-pk]").each(function () {
      if (this.getAttribute("data-pk") === old) {
        this.setAttribute("data-pk", key);
        if ($.fn.editable) {
          $(this).editable("option", "pk", key);
        }
      }
    });
  });
})(window.jQuery);
