// One module for displaying text from the chain or from other users (proposal titles and
// descriptions, vote reasons, manifest metadata and paths, tensor names, decoded call arguments).
// Such text is hostile: it may carry bidi controls that reverse what the reader sees
// (`exe.stnemhcatta_fdp` shown as `…pdf.exe` read backwards), be one unbreakable 100 kB run, or be
// built to make the Markdown parser slow. Pure functions; the React side is
// app/_components/untrusted.tsx and app/_components/markdown.tsx.

/**
 * Bidi formatting characters: LRE RLE PDF LRO RLO (U+202A–U+202E), LRI RLI FSI PDI (U+2066–U+2069),
 * LRM RLM (U+200E/F), ALM (U+061C).
 */
export const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;

const BIDI_NAMES: Record<string, string> = {
  '\u202A': 'LRE',
  '\u202B': 'RLE',
  '\u202C': 'PDF',
  '\u202D': 'LRO',
  '\u202E': 'RLO',
  '\u2066': 'LRI',
  '\u2067': 'RLI',
  '\u2068': 'FSI',
  '\u2069': 'PDI',
  '\u200E': 'LRM',
  '\u200F': 'RLM',
  '\u061C': 'ALM',
};

/** How a bidi control is shown instead of being obeyed: `[U+202E RLO]`. */
export function bidiMarker(ch: string): string {
  const cp = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  return `[U+${cp} ${BIDI_NAMES[ch] ?? 'bidi'}]`;
}

export function hasBidiControls(text: string): boolean {
  return new RegExp(BIDI_CONTROLS.source).test(text);
}

/** Replaces every bidi control with its visible marker, so none can reorder what follows it. */
export function revealBidi(text: string): string {
  return text.replace(BIDI_CONTROLS, bidiMarker);
}

// C0/C1 controls other than tab and newline, zero-width and other invisible format characters
// that can hide or disguise text on one line (a title, a list entry, the browser tab).
const INVISIBLE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200B-\u200D\u2060-\u2064\uFEFF]/g;

/**
 * A one-line label from hostile text: bidi controls revealed, other controls and invisible
 * characters removed, whitespace runs collapsed, at most `max` characters (code points, never a
 * split surrogate pair) with an ellipsis. For the document title, list entries and headings.
 */
export function displayLine(text: string, max = 160): string {
  const line = revealBidi(text).replace(INVISIBLE, '').replace(/\s+/g, ' ').trim();
  const chars = Array.from(line);
  return chars.length <= max
    ? line
    : `${chars
        .slice(0, max - 1)
        .join('')
        .trimEnd()}…`;
}

/** Above this many characters Markdown is not parsed: the text is shown as plain text. */
export const MARKDOWN_MAX_CHARS = 32 * 1024;
/**
 * Above this many emphasis delimiters (`*`, `_`) Markdown is not parsed: matching them is
 * superlinear (measured on a loaded 2-core machine: 2,000 `*a` took 3.4 s, 10,000 took 9 s, 50,000
 * took 139 s). 600 keeps the worst case to a fraction of a second and leaves room for any
 * description a person writes (300 bold phrases).
 */
export const MARKDOWN_MAX_EMPHASIS = 600;
/** Link/label openers (`[`) are matched superlinearly too (16,000 took 4 s): at most this many. */
export const MARKDOWN_MAX_BRACKETS = 400;

/** Whether `text` can be rendered as Markdown in bounded time; otherwise render it as plain text. */
export function markdownIsSafeToParse(text: string): boolean {
  if (text.length > MARKDOWN_MAX_CHARS) return false;
  let emphasis = 0;
  let brackets = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 42 /* * */ || c === 95 /* _ */) {
      if (++emphasis > MARKDOWN_MAX_EMPHASIS) return false;
    } else if (c === 91 /* [ */) {
      if (++brackets > MARKDOWN_MAX_BRACKETS) return false;
    }
  }
  return true;
}
