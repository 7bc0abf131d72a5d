/**
 * HTML built with a tagged template that escapes every interpolated value unless it is markup
 * made by the template itself, so names read from a kernel or an app cannot break the page.
 */

/** markup that is already safe (made by `html`) */
export class Markup {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type HtmlValue = string | number | boolean | null | undefined | Markup | readonly HtmlValue[];

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** html`<p>${text}</p>`: strings and numbers escaped, Markup and arrays of it kept */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Markup {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return new Markup(out);
}

/** trusted text written by this module (CSS, the page script): nothing in it comes from input */
export function trusted(text: string): Markup {
  return new Markup(text);
}

/** 1234567 → "1,234,567" */
export function thousands(n: number): string {
  return n.toLocaleString('en-US');
}

/** 1234567 → "1.18 MiB", for labels */
export function humanBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(2)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}
