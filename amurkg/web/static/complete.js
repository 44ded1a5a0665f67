// Entity completion for the query forms: fills each field's <datalist> from /names.json as the user types.
// The only script of the web interface; pages work without it. Names are set as option values (text, never HTML).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input[data-complete]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("data-complete"));
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        fetch("/names.json?q=" + encodeURIComponent(input.value))
          .then(function (response) { return response.ok ? response.json() : { names: [] }; })
          .then(function (data) {
            list.replaceChildren();
            data.names.forEach(function (name) {
              var option = document.createElement("option");
              option.value = name;
              list.appendChild(option);
            });
          })
          .catch(function () { /* completion is a convenience: the form still works */ });
      }, 150);
    });
  });
});
