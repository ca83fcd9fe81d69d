/**
 * Several registries' text exposition as one, each sample labelled with its service. Samples stay grouped under
 * their family's HELP and TYPE lines (as the format requires), families in first-seen order.
 */
export function mergePrometheus(texts: readonly { service: string; text: string }[]): string {
  const families = new Map<string, { head: string[]; samples: string[] }>();
  for (const { service, text } of texts) {
    let family: { head: string[]; samples: string[] } | undefined;
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta) {
        const name = meta[2] ?? '';
        family = families.get(name);
        if (!family) {
          family = { head: [], samples: [] };
          families.set(name, family);
        }
        if (!family.head.some((seen) => seen.startsWith(`# ${meta[1]} `))) family.head.push(line);
        continue;
      }
      if (line.startsWith('#')) continue;
      if (!family) {
        family = families.get('') ?? { head: [], samples: [] };
        families.set('', family);
      }
      family.samples.push(withService(line, service));
    }
  }
  return `${[...families.values()].flatMap((family) => [...family.head, ...family.samples]).join('\n')}\n`;
}

const LABEL_VALUE = /[\\"\n]/g;

// `name{a="1"} 2` → `name{service="x",a="1"} 2`; `name 2` → `name{service="x"} 2`.
function withService(sample: string, service: string): string {
  const label = `service="${service.replace(LABEL_VALUE, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`;
  const brace = sample.indexOf('{');
  const space = sample.indexOf(' ');
  if (brace !== -1 && (space === -1 || brace < space)) {
    const inner = sample.slice(brace + 1);
    return `${sample.slice(0, brace)}{${label}${inner.startsWith('}') ? '' : ','}${inner}`;
  }
  return space === -1 ? sample : `${sample.slice(0, space)}{${label}}${sample.slice(space)}`;
}
