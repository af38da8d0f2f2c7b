// Proof-of-work for JavaScript clients (SPEC §3.9). It only enhances: without it the
// forms still work, under tighter limits. For every form with a proof-of-work field,
// fetch a challenge, find the number whose SHA-256 matches, and fill the field in.
(function () {
  "use strict";
  var fields = document.querySelectorAll("input[data-pow]");
  if (!fields.length || !window.crypto || !window.crypto.subtle || !window.fetch) return;

  function hex(buffer) {
    var bytes = new Uint8Array(buffer), out = "";
    for (var i = 0; i < bytes.length; i++) out += bytes[i].toString(16).padStart(2, "0");
    return out;
  }

  async function solve(challenge) {
    var encoder = new TextEncoder();
    for (var number = 0; number <= challenge.maxNumber; number++) {
      var digest = await crypto.subtle.digest("SHA-256", encoder.encode(challenge.salt + number));
      if (hex(digest) === challenge.challenge) return number;
    }
    return null;
  }

  async function fill(field) {
    try {
      var response = await fetch("/api/v1/pow/challenge", { credentials: "omit", cache: "no-store" });
      if (!response.ok) return;
      var challenge = await response.json();
      var number = await solve(challenge);
      if (number === null) return;
      field.value = btoa(JSON.stringify({
        algorithm: challenge.algorithm, challenge: challenge.challenge,
        number: number, salt: challenge.salt, signature: challenge.signature
      }));
    } catch (error) {
      // No proof of work: the server applies the tighter limits. Nothing else changes.
    }
  }

  fields.forEach(fill);
})();
