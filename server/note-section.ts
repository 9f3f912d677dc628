/**
 * The part of a note a wiki link names, for the page's link preview: `Note` (the whole note),
 * `Note#Heading` (that heading and what follows it down to the next heading of the same or a
 * higher level) or `Note#^block-id` (the paragraph ending with that id). Scheduling comments are
 * taken out (they are the plugin's bookkeeping, not text), as is the frontmatter.
 */

export interface LinkTarget {
  note: string;
  heading: string | null;
  blockId: string | null;
}

export function parseLinkTarget(target: string): LinkTarget {
  const [note, ...rest] = target.split('#');
  const anchor = rest.join('#').trim();
  if (anchor.startsWith('^')) return { note: note.trim(), heading: null, blockId: anchor.slice(1) };
  return { note: note.trim(), heading: anchor || null, blockId: null };
}

const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const normal = (s: string) => s.replace(/\[\[|\]\]/g, '').replace(/\s+/g, ' ').trim().toLowerCase();

/** The section's markdown, or null when the heading or block is not in the text. */
export function noteSection(text: string, target: LinkTarget): string | null {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let start = 0;
  if (lines[0]?.trim() === '---') {
    const end = lines.findIndex((l, i) => i > 0 && l.trim() === '---');
    if (end > 0) start = end + 1;
  }
  let body = lines.slice(start);
  if (target.heading) {
    const at = body.findIndex((l) => {
      const m = HEADING.exec(l);
      return m !== null && normal(m[2]) === normal(target.heading!);
    });
    if (at < 0) return null;
    const level = HEADING.exec(body[at])![1].length;
    const end = body.findIndex((l, i) => i > at && (HEADING.exec(l)?.[1].length ?? 7) <= level);
    body = body.slice(at, end < 0 ? undefined : end);
  } else if (target.blockId) {
    const id = target.blockId;
    const at = body.findIndex((l) => new RegExp(`(^|\\s)\\^${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`).test(l));
    if (at < 0) return null;
    let from = at;
    while (from > 0 && body[from - 1].trim() !== '') from--;
    body = body.slice(from, at + 1).map((l) => l.replace(/\s\^[\w-]+\s*$/, ''));
  }
  return body
    .join('\n')
    .replace(/<!--SR:[^>]*-->/g, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
