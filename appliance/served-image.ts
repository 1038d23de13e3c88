// The image as `serve` loads it: into memory that asks for transparent huge pages when it
// is big. A DNS lookup in a zone of a million names touches a few random places of a
// 200 MB image; with 4 KiB pages each of them is also a TLB miss whose page walk misses
// the cache too, and 2 MiB pages take most of those away. Small images are loaded as
// they are (their pages fit the TLB anyway, and a huge page may cost a compaction).

import { adviseHugePages } from '../netmap-binding/afxdp.js';
import { loadImage, type Image } from '../specializers/image/format.js';

/** Images from this size on are advised (8 huge pages). */
const HUGE_PAGES_FROM = 16 << 20;

export function loadServedImage(file: string): Image {
  return loadImage(file, { advise: (bytes) => { if (bytes.length >= HUGE_PAGES_FROM) adviseHugePages(bytes); } });
}
