import assert from "node:assert/strict";
import { test } from "node:test";
import jsQR from "jsqr";
import { crc32, qrPng } from "../png.mjs";
import { byteCapacity, encodeQr, formatBits, reedSolomonEcc } from "../qr.mjs";
import { crc32Bitwise, decodePng, rgba } from "./helpers.mjs";

function decodeQrPng(png) {
  const image = decodePng(png);
  return jsQR(rgba(image), image.width, image.height);
}

test("PNG of a QR code decodes back to the exact value, versions 1 to 10", () => {
  const seen = new Set();
  for (const length of [10, 20, 40, 60, 80, 100, 120, 150, 175, 213]) {
    const value = `2@${"AbC+/=,xyz0123456789".repeat(11)}`.slice(0, length);
    const { version } = encodeQr(value);
    seen.add(version);
    const decoded = decodeQrPng(qrPng(value));
    assert.ok(decoded, `jsQR found no code for length ${length}`);
    assert.equal(decoded.data, value);
    assert.equal(decoded.version, version);
  }
  assert.deepEqual([...seen].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

test("UTF-8 payloads survive the round trip", () => {
  const value = "pairing ✓ ünïcode 漢字";
  assert.equal(decodeQrPng(qrPng(value)).data, value);
});

test("payloads over the version 10-M capacity are refused, not truncated", () => {
  assert.equal(byteCapacity(10), 213);
  assert.throws(() => encodeQr("x".repeat(214)), RangeError);
});

test("PNG structure: signature, IHDR, chunk CRCs, inflated size, quiet zone", () => {
  const png = qrPng("hello", 4);
  const image = decodePng(png); // checks signature, CRCs, filter bytes and inflated length
  assert.deepEqual(image.chunks, ["IHDR", "IDAT", "IEND"]);
  const modules = encodeQr("hello").size; // 21 for version 1
  assert.equal(modules, 21);
  assert.equal(image.width, (21 + 8) * 4);
  assert.equal(image.height, image.width);
  assert.equal(image.bitDepth, 8);
  assert.equal(image.colourType, 0);
  for (let x = 0; x < image.width; x++) assert.equal(image.grey[x], 255, "top quiet zone is white");
  assert.equal(image.grey[16 * image.width + 16], 0, "finder corner module is black");
  assert.equal(crc32(Buffer.from("IEND")), 0xae426082); // the well-known IEND CRC
  const sample = Buffer.from("The quick brown fox jumps over the lazy dog");
  assert.equal(crc32(sample), 0x414fa339);
  assert.equal(crc32(sample), crc32Bitwise(sample));
});

test("function patterns: three finders, timing lines, dark module", () => {
  for (const value of ["a", "b".repeat(150)]) {
    const { size, modules } = encodeQr(value);
    const finderAt = (x0, y0) => {
      for (let dy = 0; dy < 7; dy++) {
        for (let dx = 0; dx < 7; dx++) {
          const ring = Math.max(Math.abs(dx - 3), Math.abs(dy - 3));
          assert.equal(modules[y0 + dy][x0 + dx], ring !== 2, `finder module ${x0 + dx},${y0 + dy}`);
        }
      }
    };
    finderAt(0, 0);
    finderAt(size - 7, 0);
    finderAt(0, size - 7);
    if (size > 21) {
      // versions >= 2: an alignment pattern (not a finder) sits at (size-7, size-7)
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) {
          const ring = Math.max(Math.abs(dx), Math.abs(dy));
          assert.equal(modules[size - 7 + dy][size - 7 + dx], ring !== 1, "alignment pattern");
        }
      }
    }
    for (let i = 8; i < size - 8; i++) {
      assert.equal(modules[6][i], i % 2 === 0, `horizontal timing at ${i}`);
      assert.equal(modules[i][6], i % 2 === 0, `vertical timing at ${i}`);
    }
    assert.equal(modules[size - 8][8], true, "dark module");
  }
});

test("format information: BCH code with the ISO mask, both copies agree with the chosen mask", () => {
  // ISO/IEC 18004 Table C.1, level M: mask 0 → 101010000010010, mask 5 → 100000011001110, mask 7 → 100101010100000
  assert.equal(formatBits(0), 0b101010000010010);
  assert.equal(formatBits(5), 0b100000011001110);
  assert.equal(formatBits(7), 0b100101010100000);
  const { size, modules, mask } = encodeQr("format check");
  const bit = (x, y) => (modules[y][x] ? 1 : 0);
  let first = 0;
  const firstCoords = [[8, 0], [8, 1], [8, 2], [8, 3], [8, 4], [8, 5], [8, 7], [8, 8], [7, 8], [5, 8], [4, 8], [3, 8], [2, 8], [1, 8], [0, 8]];
  firstCoords.forEach(([x, y], i) => (first |= bit(x, y) << i));
  let second = 0;
  for (let i = 0; i < 8; i++) second |= bit(size - 1 - i, 8) << i;
  for (let i = 8; i < 15; i++) second |= bit(8, size - 15 + i) << i;
  assert.equal(first, formatBits(mask));
  assert.equal(second, formatBits(mask));
  const unmasked = first ^ 0x5412;
  assert.equal(unmasked >>> 13, 0b00, "error-correction level M");
  assert.equal((unmasked >>> 10) & 7, mask);
});

test("Reed–Solomon codewords: every syndrome of data + ECC is zero (independent GF(256) arithmetic)", () => {
  const exp = new Array(512);
  const log = new Array(256);
  let x = 1;
  for (let i = 0; i < 255; i++) {
    exp[i] = x;
    log[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) exp[i] = exp[i - 255];
  const mul = (a, b) => (a === 0 || b === 0 ? 0 : exp[log[a] + log[b]]);
  const data = [...Buffer.from("Reed-Solomon check for the simulator QR encoder")];
  for (const degree of [10, 16, 18, 22, 26]) {
    const codeword = [...data, ...reedSolomonEcc(data, degree)];
    for (let i = 0; i < degree; i++) {
      let syndrome = 0;
      for (const c of codeword) syndrome = mul(syndrome, exp[i]) ^ c; // Horner at α^i
      assert.equal(syndrome, 0, `syndrome ${i} for degree ${degree}`);
    }
  }
});
