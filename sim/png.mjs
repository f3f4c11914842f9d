// Minimal PNG writer: 8-bit greyscale, no interlace, filter 0 on every row, zlib via node:zlib.
import { deflateSync } from "node:zlib";
import { encodeQr } from "./qr.mjs";

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309 / PNG) of a byte buffer. */
export function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** Encodes a greyscale image; `pixel(x, y)` returns 0..255. */
export function encodeGreyscalePng(width, height, pixel) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // colour type: greyscale
  header[10] = 0; // compression
  header[11] = 0; // filter method
  header[12] = 0; // no interlace
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) {
    const rowStart = y * (width + 1);
    raw[rowStart] = 0; // filter type "None"
    for (let x = 0; x < width; x++) raw[rowStart + 1 + x] = pixel(x, y);
  }
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A PNG of the QR code for `text`: `scale` pixels per module and the standard 4-module quiet zone. */
export function qrPng(text, scale = 4) {
  const { size, modules } = encodeQr(text);
  const quiet = 4;
  const side = (size + 2 * quiet) * scale;
  return encodeGreyscalePng(side, side, (x, y) => {
    const mx = Math.floor(x / scale) - quiet;
    const my = Math.floor(y / scale) - quiet;
    const inside = mx >= 0 && my >= 0 && mx < size && my < size;
    return inside && modules[my][mx] ? 0 : 255;
  });
}

/** `data:image/png;base64,...` of the QR code for `text`. */
export function qrDataUrl(text) {
  return `data:image/png;base64,${qrPng(text).toString("base64")}`;
}
