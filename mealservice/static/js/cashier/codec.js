// The card payload, read without the server: pure functions, no DOM, so the offline
// checks of the counter page and the tests share them. tests/data/card_vectors.json holds
// payloads with what they decode to: tests/browser/test_card_codec.py runs them through
// this decoder, tests/elders/test_card_vectors.py through mealservice/elders/card_codec.py.

export const BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
export const EPOCH_MS = Date.UTC(2020, 0, 1);

// RFC 9285: the bytes, or null for text that is not Base45.
export function base45Decode(text) {
  const bytes = [];
  for (let i = 0; i < text.length; i += 3) {
    const chunk = text.slice(i, i + 3);
    const digits = [...chunk].map((c) => BASE45.indexOf(c));
    if (digits.some((d) => d < 0) || chunk.length === 1) return null;
    const value = digits.reduce((sum, d, n) => sum + d * 45 ** n, 0);
    if (chunk.length === 3) {
      if (value > 0xffff) return null;
      bytes.push(value >> 8, value & 0xff);
    } else {
      if (value > 0xff) return null;
      bytes.push(value);
    }
  }
  return bytes;
}

// MS1: + Base45 of [version, key id, card id (8), generation u16, expiry days u16] and a
// 64-byte signature. Only the server can check the signature; offline we check the rest.
// { cardId (hex), generation, expiresOn (YYYY-MM-DD) }, or null for anything else.
export function decodeCard(payload) {
  const text = payload.trim();
  if (!text.startsWith("MS1:")) return null;
  const bytes = base45Decode(text.slice(4));
  if (!bytes || bytes.length !== 14 + 64 || bytes[0] !== 1) return null;
  const hex = bytes.slice(2, 10).map((b) => b.toString(16).padStart(2, "0")).join("");
  const days = (bytes[12] << 8) | bytes[13];
  return {
    cardId: hex,
    generation: (bytes[10] << 8) | bytes[11],
    expiresOn: new Date(EPOCH_MS + days * 86400000).toISOString().slice(0, 10),
  };
}

function base64urlBytes(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(text.length / 4) * 4, "=");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

// Whether the card's Ed25519 signature holds under the service's public key it names
// (`keys`: [{key_id, public_key}] as the offline roster lists them): true, false, or null
// when this browser cannot check (no Ed25519 in Web Crypto, or no keys yet) and the
// service must judge. Only public keys are on the tablet: it can check, never sign.
export async function signatureHolds(payload, keys) {
  if (!keys || !keys.length || !(globalThis.crypto && crypto.subtle)) return null;
  const bytes = base45Decode(payload.trim().slice(4));
  if (!bytes || bytes.length !== 14 + 64) return false;
  // A key newer than the tablet's list: the service will judge.
  const key = keys.find((known) => known.key_id === bytes[1]);
  if (!key) return null;
  try {
    const publicKey = await crypto.subtle.importKey(
      "raw", base64urlBytes(key.public_key), { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify(
      { name: "Ed25519" }, publicKey, Uint8Array.from(bytes.slice(14)),
      Uint8Array.from(bytes.slice(0, 14)));
  } catch (error) {
    return null;
  }
}
