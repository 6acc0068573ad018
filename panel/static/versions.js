// A YAML file chosen in a version form is read into its textarea, to be
// edited, validated and saved like text typed there.
"use strict";
document.querySelectorAll("input[type=file][data-fills]").forEach((input) => {
  input.addEventListener("change", () => {
    const file = input.files && input.files[0];
    const target = document.getElementById(input.dataset.fills);
    if (!file || !target) return;
    file.text().then((text) => { target.value = text; });
  });
});
