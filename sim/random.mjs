// Seeded pseudo-random streams (sfc32 seeded through cyrb128), so a --seed reproduces ids, QR values
// and fault decisions. Separate named streams keep fault rolls from shifting ids and vice versa.
import { randomInt } from "node:crypto";

function cyrb128(text) {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  return [(h1 ^ h2 ^ h3 ^ h4) >>> 0, (h2 ^ h1) >>> 0, (h3 ^ h1) >>> 0, (h4 ^ h1) >>> 0];
}

const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";

export class Random {
  constructor(seed, label) {
    [this.a, this.b, this.c, this.d] = cyrb128(`${seed}:${label}`);
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next() {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    let t = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    t = (t + this.d) | 0;
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  int(bound) {
    return Math.floor(this.next() * bound);
  }

  /** True with probability p (0..1). */
  chance(p) {
    return p > 0 && this.next() < p;
  }

  bytes(n) {
    return Buffer.from(Array.from({ length: n }, () => this.int(256)));
  }

  pick(alphabet, n) {
    let out = "";
    for (let i = 0; i < n; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }

  /** 26 lower-case ULID characters: 10 of time (ms) then 16 random. */
  ulid(nowMs) {
    let time = "";
    let ms = Math.max(0, Math.floor(nowMs));
    for (let i = 0; i < 10; i++) {
      time = CROCKFORD[ms % 32] + time;
      ms = Math.floor(ms / 32);
    }
    return time + this.pick(CROCKFORD, 16);
  }
}

/** A fresh seed when none is given (the run is then not reproducible, by request). */
export function defaultSeed() {
  return randomInt(0, 2 ** 31);
}
