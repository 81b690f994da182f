/**
 * OCI/Docker whiteouts in layer tarballs and their overlayfs form. A layer marks a deleted path
 * NAME with an empty file `.wh.NAME`, and a directory whose lower contents are hidden with
 * `.wh..wh..opq`; overlayfs wants a character device 0/0 at NAME and the xattr
 * `trusted.overlay.opaque=y` on the directory. Pure.
 */

/** Prefix of a whiteout file's name. */
export const whiteoutPrefix = '.wh.';
/** Name of the opaque-directory marker. */
export const opaqueMarker = '.wh..wh..opq';
/** The xattr overlayfs reads to treat a directory as opaque, and its value. */
export const opaqueXattr = { name: 'trusted.overlay.opaque', value: 'y' } as const;

/** What to do with one tar entry. */
export type WhiteoutAction =
  | { readonly kind: 'keep' }
  /** Replace the entry with a character device 0/0 at `target`. */
  | { readonly kind: 'whiteout'; readonly target: string }
  /** Replace the entry with the xattr `trusted.overlay.opaque=y` on directory `dir` ('' = layer root). */
  | { readonly kind: 'opaque'; readonly dir: string };

/** Normalises a tar path: no leading `./` or `/`, no trailing `/`. */
export function normaliseEntryPath(path: string): string {
  let p = path;
  while (p.startsWith('./')) p = p.slice(2);
  while (p.startsWith('/')) p = p.slice(1);
  while (p.endsWith('/')) p = p.slice(0, -1);
  return p === '.' ? '' : p;
}

/** Classifies one tar entry path (pure). */
export function whiteoutAction(path: string): WhiteoutAction {
  const p = normaliseEntryPath(path);
  const slash = p.lastIndexOf('/');
  const dir = slash >= 0 ? p.slice(0, slash) : '';
  const base = slash >= 0 ? p.slice(slash + 1) : p;
  if (base === opaqueMarker) return { kind: 'opaque', dir };
  if (base.startsWith(whiteoutPrefix) && base.length > whiteoutPrefix.length) {
    const name = base.slice(whiteoutPrefix.length);
    if (name === '.' || name === '..') return { kind: 'keep' };
    return { kind: 'whiteout', target: dir === '' ? name : `${dir}/${name}` };
  }
  return { kind: 'keep' };
}
