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
// A slow form (creating a release audits every statistic): say so while it runs, and keep the
// button from sending it twice. Without JavaScript the page says the same in its text.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var text = form.getAttribute && form.getAttribute("data-busy");
  if (!text) { return; }
  var status = form.querySelector(".busy");
  if (status) { status.textContent = text; }
  form.querySelectorAll("button[type=submit]").forEach(function (b) {
    b.setAttribute("aria-disabled", "true");
  });
  if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
  form.setAttribute("data-sent", "true");
});
