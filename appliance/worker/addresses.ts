// Which of the appliance's addresses the host's kernel also has. TCP to a port the
// appliance does not serve belongs to the kernel on a shared address (an SSH daemon, say);
// on an address only the appliance has, the appliance answers it (with a RST).

import { execFileSync } from 'node:child_process';

/** The addresses of `addrs` that no interface of the namespace (default: ours) carries. */
export function exclusiveAddresses(addrs: readonly string[], netns?: string): string[] {
  let kernel: Set<string>;
  try {
    const out = execFileSync('ip', [...(netns ? ['-n', netns] : []), '-j', 'addr', 'show'], { encoding: 'utf8', timeout: 5000 });
    const links = JSON.parse(out) as Array<{ addr_info?: Array<{ local?: string }> }>;
    kernel = new Set(links.flatMap((l) => (l.addr_info ?? []).map((a) => normalize(a.local ?? ''))));
  } catch {
    // Without iproute2's answer, treat every address as shared: TCP to unserved ports stays the kernel's.
    return [];
  }
  return addrs.filter((a) => !kernel.has(normalize(a)));
}

function normalize(a: string): string {
  if (!a.includes(':')) return a;
  // ip prints IPv6 in its canonical short form; compare on the expanded groups.
  const expand = (x: string): string => {
    const [l, r] = x.split('::');
    const left = l ? l.split(':') : [];
    const right = r !== undefined && r !== '' ? r.split(':') : [];
    const mid = new Array<string>(8 - left.length - right.length).fill('0');
    return [...left, ...(x.includes('::') ? mid : []), ...right].map((g) => g.replace(/^0+(?=.)/, '').toLowerCase()).join(':');
  };
  return expand(a);
}
