// The simulator's QR images (npm `qrcode` + `pngjs`), decoded back by an independent reader (jsQR).
import assert from "node:assert/strict";
import { test } from "node:test";
import jsQR from "jsqr";
import QRCode from "qrcode";
import { qrDataUrl, qrPng } from "../qr-image.mjs";
import { dataUrlPng, decodePng } from "./helpers.mjs";

function decodeQrPng(png) {
  const image = decodePng(png);
  return jsQR(image.data, image.width, image.height);
}

test("PNG of a QR code decodes back to the exact value, short to long (versions 1 to 10+)", () => {
  const seen = new Set();
  for (const length of [10, 20, 40, 60, 80, 100, 120, 150, 175, 213, 400]) {
    const value = `2@${"AbC+/=,xyz0123456789".repeat(21)}`.slice(0, length);
    const decoded = decodeQrPng(qrPng(value));
    assert.ok(decoded, `jsQR found no code for length ${length}`);
    assert.equal(decoded.data, value);
    assert.equal(decoded.version, QRCode.create(value, { errorCorrectionLevel: "M" }).version);
    seen.add(decoded.version);
  }
  assert.ok(seen.size >= 8, `versions seen: ${[...seen]}`);
});

test("a WhatsApp-style pairing value (as the simulator makes them) and UTF-8 survive the round trip", () => {
  const value = `2@${Buffer.alloc(32, 7).toString("base64")},${Buffer.alloc(32, 9).toString("base64")},${Buffer.alloc(32, 1).toString("base64")},${Buffer.alloc(16, 3).toString("base64")}`;
  assert.equal(decodeQrPng(dataUrlPng(qrDataUrl(value))).data, value);
  const text = "pairing ✓ ünïcode 漢字";
  assert.equal(decodeQrPng(qrPng(text)).data, text);
});

test("PNG layout: greyscale, 4 px per module, a 4-module white quiet zone, dark finder corner", () => {
  const png = qrPng("hello", 4);
  const image = decodePng(png); // pngjs checks signature and chunk CRCs
  const modules = QRCode.create("hello", { errorCorrectionLevel: "M" }).modules.size;
  assert.equal(modules, 21);
  assert.equal(image.width, (21 + 8) * 4);
  assert.equal(image.height, image.width);
  assert.equal(image.colorType, 0);
  const grey = (x, y) => image.data[(y * image.width + x) * 4];
  for (let x = 0; x < image.width; x++) assert.equal(grey(x, 0), 255, "top quiet zone is white");
  for (let y = 0; y < 16; y++) assert.equal(grey(15, y), 255, "left quiet zone is white");
  assert.equal(grey(16, 16), 0, "finder corner module is black");
  assert.equal(grey(16 + 4 * 6, 16 + 4 * 6), 0, "finder ring corner is black");
  assert.equal(grey(16 + 4 * 1, 16 + 4 * 1), 255, "finder inner ring is white");
});
