// BENCHMARKS.md as sections: `node bench/run.mjs --update <section …>` replaces the chosen
// sections of the stored report in place and keeps the rest as they were measured.
const untitled = (title) => title.replace(/^\d+\.\s*/, ""); // numbers move when sections are added

/**
 * `previous`: the stored report; `sections`: bench/run.mjs's `[id, title]` list, in order;
 * `fresh`: `{ id: markdown }` of the sections just measured. Returns the sections to write, in
 * order, the stored full run's "Run:" line, and the titles of stored parts that are no section
 * (the summaries are rebuilt from bench/results.json, so they are not kept either).
 */
export function mergeReport(previous, sections, fresh) {
  const chunks = previous.split(/^(?=## )/m);
  const runLine = chunks[0].match(/^Run: .*$/m)?.[0] ?? null;
  const kept = {};
  const dropped = [];
  for (const chunk of chunks.slice(1)) {
    const [heading, ...rest] = chunk.split("\n");
    const title = heading.slice(3).trim();
    if (title.startsWith("Summary against")) continue;
    const match = sections.find(([, t]) => untitled(t) === untitled(title));
    if (!match) {
      dropped.push(title);
      continue;
    }
    kept[match[0]] = `## ${match[1]}\n${rest.join("\n").trimEnd()}\n`;
  }
  const out = sections.map(([id]) => fresh[id] ?? kept[id]).filter(Boolean);
  return { sections: out, runLine, dropped };
}
