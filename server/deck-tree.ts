/**
 * Decks as the Obsidian plugin nests them: a card tagged `#flashcards/DenseNet/extra` is in the deck
 * "extra" under "DenseNet". A card tagged with the bare flashcard tag (`#flashcards`) stays in the
 * deck of its file (id: the file's path without `.md`, as before), so `DenseNet.md` tagged
 * `#flashcards` is the deck "DenseNet" and a sub-tag `#flashcards/DenseNet/extra` anywhere in the
 * vault is its subdeck "DenseNet/extra". A deck's review includes its subdecks (as in the plugin and
 * Anki). Pure: built from the deck store's files, rebuilt when they change.
 */
import type { Deck, DeckItem } from './deck-store';

export interface DeckNode {
  /** File decks: the file's id; tag decks: the tag path below the flashcard tag (`DenseNet/extra`). */
  id: string;
  name: string;
  parent: string | null;
  children: string[];
  /** Nesting depth (0 at the top). */
  depth: number;
  /** Items in this deck and its subdecks, each once, in file order (own first). */
  items: DeckItem[];
  /** Items in this deck itself. */
  ownItems: number;
  /** A file that could not be used (only file decks have one). */
  error: string | null;
}

/** The tag path below the flashcard tag (`flashcards/DenseNet/extra` → `DenseNet/extra`); '' for the bare tag. */
export function subdeckPath(deckTag: string, flashcardTags: readonly string[]): string | null {
  const tag = deckTag.replace(/^#/, '');
  for (const base of flashcardTags.map((t) => t.replace(/^#/, ''))) {
    if (tag.toLowerCase() === base.toLowerCase()) return '';
    if (tag.toLowerCase().startsWith(base.toLowerCase() + '/')) return tag.slice(base.length + 1).replace(/\/+$/, '');
  }
  return null;
}

export function buildDeckTree(files: readonly Deck[], flashcardTags: readonly string[]): Map<string, DeckNode> {
  const nodes = new Map<string, DeckNode & { own: DeckItem[] }>();
  const node = (id: string, name: string): DeckNode & { own: DeckItem[] } => {
    let n = nodes.get(id);
    if (!n) {
      n = { id, name, parent: null, children: [], depth: 0, items: [], ownItems: 0, error: null, own: [] };
      nodes.set(id, n);
    }
    return n;
  };
  for (const file of files) {
    if (file.error !== null) {
      node(file.id, file.name).error = file.error;
      continue;
    }
    for (const item of file.items) {
      const paths = new Set(item.card.decks.map((d) => subdeckPath(d, flashcardTags) ?? ''));
      for (const p of paths) {
        if (p === '') node(file.id, file.name).own.push(item);
        else node(p, p.split('/').pop()!).own.push(item);
      }
    }
    // A deck file whose cards all went to subdecks still lists as its own (empty) deck.
    if (!nodes.has(file.id) && file.items.length === 0) node(file.id, file.name);
  }
  // Tag decks hang under their tag parent, which is created when it has no cards of its own.
  for (const id of [...nodes.keys()]) {
    let child = nodes.get(id)!;
    while (child.parent === null && child.id.includes('/') && !isFileDeck(child.id, files)) {
      const parentId = child.id.slice(0, child.id.lastIndexOf('/'));
      const parent = node(parentId, parentId.split('/').pop()!);
      child.parent = parentId;
      parent.children.push(child.id);
      child = parent;
    }
  }
  const fill = (n: DeckNode & { own: DeckItem[] }, depth: number): DeckItem[] => {
    n.depth = depth;
    n.children.sort((a, b) => a.localeCompare(b));
    const seen = new Set<string>();
    const items: DeckItem[] = [];
    const add = (item: DeckItem) => {
      if (!seen.has(item.key)) {
        seen.add(item.key);
        items.push(item);
      }
    };
    n.own.forEach(add);
    for (const c of n.children) fill(nodes.get(c)!, depth + 1).forEach(add);
    n.items = items;
    n.ownItems = n.own.length;
    return items;
  };
  for (const n of nodes.values()) if (n.parent === null) fill(n, 0);
  // Pre-order: each deck followed by its subdecks.
  const ordered = new Map<string, DeckNode>();
  const visit = (id: string) => {
    const { own: _own, ...n } = nodes.get(id)!;
    ordered.set(id, n);
    n.children.forEach(visit);
  };
  [...nodes.values()].filter((n) => n.parent === null).map((n) => n.id).sort((a, b) => a.localeCompare(b)).forEach(visit);
  return ordered;
}

function isFileDeck(id: string, files: readonly Deck[]): boolean {
  return files.some((f) => f.id === id);
}
