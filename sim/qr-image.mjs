// QR codes as PNG images for the simulator: npm `qrcode` builds the symbol (level M, the version
// it picks) and `pngjs` writes the PNG, both pinned in the root package.json. Synchronous on
// purpose: `info`, `qr-image` and the Wawp-shaped webhooks embed the image in the same tick.
import QRCode from "qrcode";
import pngjs from "pngjs";

const { PNG } = pngjs;
/** Quiet zone in modules (ISO/IEC 18004 asks for 4). */
const MARGIN = 4;

/** A PNG (8-bit greyscale) of the QR code of `value`, `scale` pixels per module. */
export function qrPng(value, scale = 4) {
  const { modules } = QRCode.create(value, { errorCorrectionLevel: "M" });
  const side = (modules.size + 2 * MARGIN) * scale;
  const png = new PNG({ width: side, height: side });
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const mx = Math.floor(x / scale) - MARGIN;
      const my = Math.floor(y / scale) - MARGIN;
      const inside = mx >= 0 && my >= 0 && mx < modules.size && my < modules.size;
      const shade = inside && modules.get(my, mx) ? 0 : 255;
      png.data.fill(shade, (y * side + x) * 4, (y * side + x) * 4 + 3);
      png.data[(y * side + x) * 4 + 3] = 255;
    }
  }
  return PNG.sync.write(png, { colorType: 0 });
}

export function qrDataUrl(value) {
  return `data:image/png;base64,${qrPng(value).toString("base64")}`;
}
