import { displayLine, revealBidi } from '../../lib/web/untrusted-text';

// Inline text from the chain or other users: isolated from the surrounding text (<bdi>, so it
// cannot reorder the page around it), bidi controls shown instead of obeyed, long runs wrapped
// inside the page (.untrusted in globals.css). `line` makes it a one-line label (titles, lists).
export function Untrusted({ text, line, max }: { text: string; line?: boolean; max?: number }) {
  return <bdi className="untrusted">{line ? displayLine(text, max) : revealBidi(text)}</bdi>;
}
