// Checks the request's receipt in the browser, as `dsr receipt verify` does: the entry
// names this request, its inclusion proof leads to the root of the checkpoint (RFC 6962),
// and the checkpoint is signed by the log's key (an Ed25519 note signature, the format of
// golang.org/x/mod/sumdb/note). It says the result in the page's words, which the section's
// data attributes carry.
"use strict";

(() => {
  const section = document.getElementById("receipt");
  const result = document.getElementById("receipt-check");
  if (!section || !result || !window.crypto || !crypto.subtle) {
    return;
  }
  const words = section.dataset;

  // A receipt that does not add up; NoEd25519 is a browser that cannot check the signature.
  class Mismatch extends Error {}
  class NoEd25519 extends Error {}

  const utf8 = new TextEncoder();
  const fromBase64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  async function sha256(...parts) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(...parts)));
  }

  // The request hash is the HMAC-SHA256 of the request ID keyed with the request secret.
  async function requestHash(secret, id) {
    const key = await crypto.subtle.importKey("raw", utf8.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return hex(new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8.encode("dsr-tlog-request:" + id))));
  }

  // Times go into a leaf in RFC 3339, UTC, to the second.
  const leafTime = (t) => new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");

  // The leaf is the format's name and the entry's fields, each ended by a newline.
  function leafHash(e) {
    const fields = ["dsr-tlog-entry/v1", e.request_hash, e.milestone, leafTime(e.at), leafTime(e.due_at), e.request_type];
    return sha256(Uint8Array.of(0), utf8.encode(fields.map((f) => f + "\n").join("")));
  }

  // The root that an inclusion proof leads to from a leaf (RFC 9162, section 2.1.3.2).
  async function rootFromProof(index, size, leaf, proof) {
    if (!(index < size)) {
      throw new Mismatch("the entry is outside the tree");
    }
    let fn = index;
    let sn = size - 1;
    let r = leaf;
    for (const p of proof) {
      if (sn === 0) {
        throw new Mismatch("the proof is too long");
      }
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(Uint8Array.of(1), p, r);
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      } else {
        r = await sha256(Uint8Array.of(1), r, p);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    if (sn !== 0) {
      throw new Mismatch("the proof is too short");
    }
    return r;
  }

  // A verifier key is name+hash+base64(0x01 || public key); the hash is the first four bytes
  // of SHA-256(name, "\n", 0x01, public key).
  // The name holds no "+"; the base64 may.
  async function parseKey(text) {
    const [, name, keyHash, encoded] = text.trim().match(/^([^+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/) || [];
    const raw = encoded ? fromBase64(encoded) : new Uint8Array();
    if (raw.length !== 33 || raw[0] !== 1) {
      throw new Mismatch("the log's key is not an Ed25519 verifier key");
    }
    const want = (await sha256(utf8.encode(name + "\n"), raw)).slice(0, 4);
    if (hex(want) !== keyHash) {
      throw new Mismatch("the log's key does not match its hash");
    }
    return { name, keyHash, publicKey: raw.slice(1) };
  }

  // A signed note is its text, a blank line and signature lines "— name base64(key hash ||
  // signature)". It returns the text if the key signed it.
  async function openNote(note, key) {
    const split = note.lastIndexOf("\n\n");
    if (split < 0) {
      throw new Mismatch("the checkpoint is not signed");
    }
    const text = note.slice(0, split + 1);
    const prefix = "\u2014 " + key.name + " ";
    const line = note.slice(split + 2).split("\n").find((l) => l.startsWith(prefix));
    const sig = line ? fromBase64(line.slice(prefix.length)) : new Uint8Array();
    if (sig.length !== 68 || hex(sig.slice(0, 4)) !== key.keyHash) {
      throw new Mismatch("the checkpoint has no signature by the log's key");
    }
    let publicKey;
    try {
      publicKey = await crypto.subtle.importKey("raw", key.publicKey, { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      throw new NoEd25519(e.message);
    }
    if (!(await crypto.subtle.verify({ name: "Ed25519" }, publicKey, sig.slice(4), utf8.encode(text)))) {
      throw new Mismatch("the checkpoint's signature is not the log's");
    }
    return text;
  }

  // check throws unless the receipt holds up against the key; it checks the signature last,
  // so that a browser without Ed25519 still finds a receipt that does not add up.
  async function check(receipt, keyText) {
    const entry = receipt.entry;
    if (await requestHash(receipt.request_secret, receipt.request_id) !== entry.request_hash) {
      throw new Mismatch("the entry does not name this request");
    }
    const proof = (receipt.inclusion_proof || []).map(fromBase64);
    const root = await rootFromProof(entry.index, receipt.tree_size, await leafHash(entry), proof);
    const [origin, size, rootLine] = receipt.checkpoint.split("\n");
    if (Number(size) !== receipt.tree_size || !same(root, fromBase64(rootLine))) {
      throw new Mismatch("the entry is not in the checkpoint's tree");
    }
    const key = await parseKey(keyText);
    if (origin !== key.name) {
      throw new Mismatch("the checkpoint is of another log");
    }
    await openNote(receipt.checkpoint, key);
  }

  const looks = { checked: "notice", failed: "error", unavailable: "error" };

  function say(state, text) {
    result.dataset.result = state;
    result.className = looks[state] || "";
    result.textContent = text;
  }

  // The time of the entry as the page spells times: in UTC, in the page's words.
  function dateTime(at) {
    const t = new Date(at);
    const months = JSON.parse(words.months);
    const time = String(t.getUTCHours()).padStart(2, "0") + ":" + String(t.getUTCMinutes()).padStart(2, "0");
    return words.dateTime.replace("{day}", t.getUTCDate()).replace("{month}", months[t.getUTCMonth()])
      .replace("{year}", t.getUTCFullYear()).replace("{time}", time);
  }

  function checkedWords(entry) {
    const steps = JSON.parse(words.steps);
    return words.checked.replace("{step}", steps[entry.milestone] || entry.milestone).replace("{date}", dateTime(entry.at));
  }

  async function run() {
    result.dataset.result = "checking";
    result.textContent = words.checking;
    let receipt;
    let keyText;
    try {
      const [r, k] = await Promise.all([
        fetch(words.receipt, { credentials: "same-origin" }),
        fetch(words.publicKey, { credentials: "omit" }),
      ]);
      if (!r.ok || !k.ok) {
        throw new Error("HTTP " + r.status + ", " + k.status);
      }
      receipt = await r.json();
      keyText = await k.text();
    } catch (e) {
      say("unavailable", words.unavailable);
      return;
    }
    try {
      await check(receipt, keyText);
      say("checked", checkedWords(receipt.entry));
    } catch (e) {
      if (e instanceof NoEd25519) {
        say("no-signature", words.noSignature);
      } else {
        // Anything else, a malformed receipt included, is a receipt that does not check out.
        say("failed", words.failed);
      }
      console.info("receipt check:", e.message);
    }
  }

  run();
})();
