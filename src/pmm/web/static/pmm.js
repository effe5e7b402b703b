// Progressive enhancement only: every page works without this file.
// htmx requests carry the CSRF token in a header, and 409/422 answers (a stale form, invalid
// values) are swapped in like any page, since they carry the form with its messages.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
});
document.addEventListener("DOMContentLoaded", function () {
  if (window.htmx) {
    htmx.config.responseHandling = [
      {code: "204", swap: false},
      {code: "[23]..", swap: true},
      {code: "409|422", swap: true, error: false},
      {code: "[45]..", swap: false, error: true}
    ];
  }
});
