/**
 * A COCO file read straight from its UTF-8 bytes into the columns the converter uses, without JSON.parse.
 *
 * Why: JSON.parse builds an object per annotation and an array per bbox (100,000 of each for a 100,000-annotation
 * file), and that graph costs more to build and then to garbage-collect than the whole conversion. Here each
 * annotation's fields go straight into arrays and its box into a Float64Array.
 *
 * Exactness: the result equals what the JSON.parse path reads, or there is none. The scanner accepts only valid
 * JSON (strict grammar: whitespace, literals, numbers, strings and their escapes), decodes strings and numbers
 * exactly as JSON.parse does (an escaped string or key goes through JSON.parse itself; a number with more than 15
 * significant digits or an exponent through Number(), which reads a JSON number as JSON.parse does), and keeps
 * the last of duplicate keys. Anything it does not expect (invalid JSON, a top level that is not an object with
 * three arrays, an escaped key in an image or annotation...) makes it give up: the caller then uses JSON.parse,
 * which also gives the error messages.
 */

/** The three arrays' content, as the converter reads them (see CocoColumns users in coco.ts). */
export interface CocoColumns {
  categories: Array<{ id?: unknown; name?: unknown }>;
  images: ImageColumns;
  annotations: AnnotationColumns;
}

export interface ImageColumns {
  count: number;
  ids: unknown[];
  fileNames: unknown[];
  dates: unknown[];
  /** The raw width and height values (any JSON value; undefined when absent). */
  widths: unknown[];
  heights: unknown[];
}

export interface AnnotationColumns {
  count: number;
  ids: unknown[];
  imageIds: unknown[];
  categoryIds: unknown[];
  /** x, y, width, height per annotation; NaN first when the bbox is not four finite numbers. */
  bbox: Float64Array;
}

/** Thrown inside the scanner to give up (caught by scanCoco). */
const GIVE_UP = new Error('not a plain COCO document');

/** Exact doubles 10^0 .. 10^22. */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

// Keys read by the scanner, by code.
const K_OTHER = 0;
const K_ID = 1;
const K_FILE_NAME = 2;
const K_WIDTH = 3;
const K_HEIGHT = 4;
const K_DATE = 5;
const K_IMAGE_ID = 6;
const K_CATEGORY_ID = 7;
const K_BBOX = 8;
/** The keys read, by code. */
const KEY_BYTES = ['', 'id', 'file_name', 'width', 'height', 'date_captured', 'image_id', 'category_id', 'bbox'].map((k) => Buffer.from(k));
/** Key code by key length (the keys read all differ in length). */
const KEY_BY_LENGTH = new Int32Array(14);
KEY_BYTES.forEach((k, code) => { if (code !== K_OTHER) KEY_BY_LENGTH[k.length] = code; });

/** The document's columns, or undefined when the JSON.parse path must read it. `b` may start with a UTF-8 BOM. */
export function scanCoco(b: Buffer): CocoColumns | undefined {
  try {
    return new Scanner(b).document();
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    throw err;
  }
}

class Scanner {
  private i = 0;

  constructor(private readonly b: Buffer) {
    if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) this.i = 3;
  }

  document(): CocoColumns | undefined {
    const b = this.b;
    this.ws();
    this.expect(123 /* { */);
    // undefined: absent; null: present but not an array (the last occurrence of a key wins, as in JSON.parse).
    let images: ImageColumns | null | undefined;
    let annotations: AnnotationColumns | null | undefined;
    let categories: Array<{ id?: unknown; name?: unknown }> | null | undefined;
    this.ws();
    if (b[this.i] === 125 /* } */) {
      this.i++;
    } else {
      for (;;) {
        this.ws();
        const key = this.plainKey();
        this.ws();
        this.expect(58 /* : */);
        this.ws();
        const isArray = b[this.i] === 91 /* [ */;
        if (key === 'images') {
          images = isArray ? this.images() : this.skipped(null);
        } else if (key === 'annotations') {
          annotations = isArray ? this.annotations() : this.skipped(null);
        } else if (key === 'categories') {
          // A few entries: JSON.parse reads them.
          const start = this.i;
          this.value();
          categories = isArray ? JSON.parse(this.b.toString('utf8', start, this.i)) as Array<{ id?: unknown; name?: unknown }> : null;
        } else {
          this.value();
        }
        this.ws();
        if (b[this.i] === 44 /* , */) {
          this.i++;
          continue;
        }
        this.expect(125 /* } */);
        break;
      }
    }
    this.ws();
    if (this.i !== b.length) throw GIVE_UP;
    if (!images || !annotations || !categories) throw GIVE_UP;
    return { categories, images, annotations };
  }

  // Each element is read by its own method: called once per element, it gets optimised quickly and stays so
  // (a loop over 100,000 elements in one method would be compiled on stack, then thrown away at the loop's exit).

  private images(): ImageColumns {
    const b = this.b;
    const c: ImageColumns = { count: 0, ids: [], fileNames: [], dates: [], widths: [], heights: [] };
    this.i++; // [
    this.ws();
    if (b[this.i] === 93 /* ] */) {
      this.i++;
      return c;
    }
    for (;;) {
      this.image(c);
      if (this.next(93)) return c;
    }
  }

  /** One element of images[] (one that is not an object has none of the fields, as when JSON.parse reads it). */
  private image(c: ImageColumns): void {
    const b = this.b;
    this.ws();
    c.count++;
    let id: unknown;
    let fileName: unknown;
    let width: unknown;
    let height: unknown;
    let date: unknown;
    if (b[this.i] !== 123 /* { */) {
      this.value();
    } else {
      this.i++;
      this.ws();
      if (b[this.i] === 125) {
        this.i++;
      } else {
        do {
          switch (this.key()) {
            case K_ID: id = this.field(); break;
            case K_FILE_NAME: fileName = this.field(); break;
            case K_WIDTH: width = this.field(); break;
            case K_HEIGHT: height = this.field(); break;
            case K_DATE: date = this.field(); break;
            default: this.value();
          }
        } while (!this.next(125));
      }
    }
    c.ids.push(id);
    c.fileNames.push(fileName);
    c.widths.push(width);
    c.heights.push(height);
    c.dates.push(date);
  }

  private annotations(): AnnotationColumns {
    const b = this.b;
    const c: AnnotationColumns = { count: 0, ids: [], imageIds: [], categoryIds: [], bbox: new Float64Array(4 * 1024) };
    this.i++; // [
    this.ws();
    if (b[this.i] === 93 /* ] */) {
      this.i++;
      return c;
    }
    for (;;) {
      this.annotation(c);
      if (this.next(93)) {
        c.bbox = c.bbox.subarray(0, c.count * 4);
        return c;
      }
    }
  }

  /** One element of annotations[]. */
  private annotation(c: AnnotationColumns): void {
    const b = this.b;
    this.ws();
    const n = c.count++;
    if (n * 4 + 4 > c.bbox.length) {
      const more = new Float64Array(c.bbox.length * 2);
      more.set(c.bbox);
      c.bbox = more;
    }
    c.bbox[n * 4] = NaN;
    let id: unknown;
    let imageId: unknown;
    let categoryId: unknown;
    if (b[this.i] !== 123 /* { */) {
      this.value();
    } else {
      this.i++;
      this.ws();
      if (b[this.i] === 125) {
        this.i++;
      } else {
        do {
          switch (this.key()) {
            case K_ID: id = this.field(); break;
            case K_IMAGE_ID: imageId = this.field(); break;
            case K_CATEGORY_ID: categoryId = this.field(); break;
            case K_BBOX: this.bbox(c.bbox, n * 4); break;
            default: this.value();
          }
        } while (!this.next(125));
      }
    }
    c.ids.push(id);
    c.imageIds.push(imageId);
    c.categoryIds.push(categoryId);
  }

  /** After a member or element: true at the closing `close` (skipped), false at a comma (skipped). */
  private next(close: number): boolean {
    this.ws();
    const c = this.b[this.i++];
    if (c === 44) return false;
    if (c === close) return true;
    throw GIVE_UP;
  }

  /** A bbox value into out[at .. at + 4): four finite numbers, else NaN at out[at]. */
  private bbox(out: Float64Array, at: number): void {
    const b = this.b;
    out[at] = NaN;
    if (b[this.i] !== 91 /* [ */) {
      this.value();
      return;
    }
    this.i++;
    this.ws();
    if (b[this.i] === 93) {
      this.i++;
      return;
    }
    let k = 0;
    let numbers = true;
    let x = 0;
    let y = 0;
    let w = 0;
    let h = 0;
    for (;;) {
      this.ws();
      const c = b[this.i];
      if (c === 45 || (c >= 48 && c <= 57)) {
        const v = this.number();
        if (k === 0) x = v;
        else if (k === 1) y = v;
        else if (k === 2) w = v;
        else if (k === 3) h = v;
      } else {
        numbers = false;
        this.value();
      }
      k++;
      this.ws();
      if (b[this.i] === 44) {
        this.i++;
        continue;
      }
      this.expect(93);
      break;
    }
    if (numbers && k === 4 && Number.isFinite(x + y + w + h)) {
      out[at] = x;
      out[at + 1] = y;
      out[at + 2] = w;
      out[at + 3] = h;
    }
  }

  /** A field's value: numbers and strings read here, anything else by JSON.parse. */
  private field(): unknown {
    const c = this.b[this.i];
    if (c === 45 || (c >= 48 && c <= 57)) return this.number();
    if (c === 34) return this.string();
    const start = this.i;
    this.value();
    return JSON.parse(this.b.toString('utf8', start, this.i)) as unknown;
  }

  /** An object key of the top level, which must need no escape. */
  private plainKey(): string {
    const b = this.b;
    if (b[this.i] !== 34) throw GIVE_UP;
    const start = ++this.i;
    for (;;) {
      const c = b[this.i];
      if (c === 34) break;
      if (c === 92 || c < 32 || c === undefined) throw GIVE_UP;
      this.i++;
    }
    return b.toString('utf8', start, this.i++);
  }

  /** An element's key and its colon, as one of the K_ codes (K_OTHER for keys not read). An escaped key gives up. */
  private key(): number {
    const b = this.b;
    this.ws();
    if (b[this.i] !== 34) throw GIVE_UP;
    const start = ++this.i;
    let i = start;
    for (;;) {
      const c = b[i];
      if (c === 34) break;
      if (c === 92 || c < 32 || c === undefined) throw GIVE_UP;
      i++;
    }
    this.i = i + 1;
    this.ws();
    this.expect(58 /* : */);
    this.ws();
    // The keys read all differ in length.
    const n = i - start;
    const code = n < KEY_BY_LENGTH.length ? KEY_BY_LENGTH[n] : K_OTHER;
    if (code === K_OTHER) return K_OTHER;
    const key = KEY_BYTES[code];
    for (let j = 0; j < n; j++) if (key[j] !== b[start + j]) return K_OTHER;
    return code;
  }

  /** A string value, decoded: bytes without escapes as UTF-8 (ASCII as latin1, faster), escaped ones by JSON.parse. */
  private string(): string {
    const b = this.b;
    const start = this.i++;
    let ascii = true;
    let escaped = false;
    for (;;) {
      const c = b[this.i];
      if (c === 34) break;
      if (c === 92) {
        escaped = true;
        this.escape();
        continue;
      }
      if (c < 32 || c === undefined) throw GIVE_UP;
      if (c >= 128) ascii = false;
      this.i++;
    }
    const end = this.i++;
    if (escaped) return JSON.parse(b.toString('utf8', start, end + 1)) as string;
    return b.toString(ascii ? 'latin1' : 'utf8', start + 1, end);
  }

  /** Skips a valid escape at i (the backslash). */
  private escape(): void {
    const b = this.b;
    const c = b[this.i + 1];
    if (c === 34 || c === 92 || c === 47 || c === 98 || c === 102 || c === 110 || c === 114 || c === 116) {
      this.i += 2;
      return;
    }
    if (c !== 117 /* u */) throw GIVE_UP;
    for (let k = 2; k < 6; k++) {
      const h = b[this.i + k];
      if (!((h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102))) throw GIVE_UP;
    }
    this.i += 6;
  }

  /** A JSON number at i, read as JSON.parse reads it. */
  private number(): number {
    const b = this.b;
    const start = this.i;
    let i = start;
    const negative = b[i] === 45;
    if (negative) i++;
    let mantissa = 0;
    let digits = 0;
    let c = b[i];
    if (c === 48) {
      i++;
      digits++;
    } else if (c >= 49 && c <= 57) {
      do {
        mantissa = mantissa * 10 + (c - 48);
        digits++;
        c = b[++i];
      } while (c >= 48 && c <= 57);
    } else {
      throw GIVE_UP;
    }
    let fraction = 0;
    if (b[i] === 46 /* . */) {
      c = b[++i];
      if (!(c >= 48 && c <= 57)) throw GIVE_UP;
      do {
        mantissa = mantissa * 10 + (c - 48);
        digits++;
        fraction++;
        c = b[++i];
      } while (c >= 48 && c <= 57);
    }
    let exponent = false;
    c = b[i];
    if (c === 101 || c === 69 /* e E */) {
      exponent = true;
      c = b[++i];
      if (c === 43 || c === 45) c = b[++i];
      if (!(c >= 48 && c <= 57)) throw GIVE_UP;
      do c = b[++i]; while (c >= 48 && c <= 57);
    }
    this.i = i;
    // Up to 15 digits the mantissa is exact, and so is 10^fraction: one division, correctly rounded, is the
    // value JSON.parse gives. Otherwise Number() reads the literal (the same grammar and conversion).
    if (!exponent && digits <= 15) {
      const v = fraction === 0 ? mantissa : mantissa / POW10[fraction];
      return negative ? -v : v;
    }
    return Number(b.toString('latin1', start, i));
  }

  /** Skips any valid JSON value at i. */
  private value(): void {
    const b = this.b;
    const c = b[this.i];
    if (c === 34) {
      this.i++;
      for (;;) {
        const d = b[this.i];
        if (d === 34) break;
        if (d === 92) {
          this.escape();
          continue;
        }
        if (d < 32 || d === undefined) throw GIVE_UP;
        this.i++;
      }
      this.i++;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      this.number();
    } else if (c === 123 || c === 91) {
      const close = c === 123 ? 125 : 93;
      this.i++;
      this.ws();
      if (b[this.i] === close) {
        this.i++;
        return;
      }
      for (;;) {
        this.ws();
        if (c === 123) {
          if (b[this.i] !== 34) throw GIVE_UP;
          this.value();
          this.ws();
          this.expect(58);
          this.ws();
        }
        this.value();
        this.ws();
        if (b[this.i] === 44) {
          this.i++;
          continue;
        }
        this.expect(close);
        return;
      }
    } else if (c === 116) {
      this.word(TRUE);
    } else if (c === 102) {
      this.word(FALSE);
    } else if (c === 110) {
      this.word(NULL);
    } else {
      throw GIVE_UP;
    }
  }

  private word(w: Buffer): void {
    for (let k = 0; k < w.length; k++) if (this.b[this.i + k] !== w[k]) throw GIVE_UP;
    this.i += w.length;
  }

  private ws(): void {
    const b = this.b;
    let i = this.i;
    let c = b[i];
    while (c === 32 || c === 10 || c === 13 || c === 9) c = b[++i];
    this.i = i;
  }

  private expect(c: number): void {
    if (this.b[this.i] !== c) throw GIVE_UP;
    this.i++;
  }

  private skipped<T>(v: T): T {
    this.value();
    return v;
  }
}

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');
